/**
 * JWT verification with jose. The key is chosen by the token's `alg` among the algorithms this
 * service accepts, and each algorithm family has exactly one key source: HS256 only the shared
 * secret, RS256/ES256 only the JWKS (selected by `kid`). So `alg: none` and algorithm confusion
 * (an HS256 token "signed" with an RSA public key) both fail, and issuer, audience and `exp` are
 * always required.
 */
import { readFile, stat } from "node:fs/promises";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
  type JWTPayload,
  type CryptoKey,
} from "jose";
import type { JwtConfig } from "../config.js";
import { rolesFromClaim, type Role } from "./roles.js";

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey | Uint8Array>;

/** A JWKS file, re-read when a token names a `kid` it does not hold and the file has changed. */
class JwksFile {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  private mtimeMs = -1;

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    const info = await stat(this.file);
    if (info.mtimeMs === this.mtimeMs && this.keys !== undefined) return;
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(await readFile(this.file, "utf8")) as JSONWebKeySet;
    } catch (err) {
      throw new Error(`JWT_JWKS_FILE ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    this.keys = createLocalJWKSet(jwks);
    this.mtimeMs = info.mtimeMs;
  }

  readonly resolve: KeyResolver = async (header, token) => {
    if (this.keys === undefined) await this.load();
    try {
      return await this.keys!(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // Key rotation: a new kid appears in the file before tokens signed with it do.
      await this.load();
      return this.keys!(header, token);
    }
  };
}

export class JwtVerifier {
  private readonly secret: Uint8Array | undefined;
  private readonly jwksFile: JwksFile | undefined;
  private readonly jwks: KeyResolver | undefined;

  constructor(private readonly config: JwtConfig) {
    this.secret = config.hs256Secret === undefined ? undefined : new TextEncoder().encode(config.hs256Secret);
    if (config.jwksFile !== undefined) {
      this.jwksFile = new JwksFile(config.jwksFile);
      this.jwks = this.jwksFile.resolve;
    } else if (config.jwksUrl !== undefined) {
      // jose caches the set and refetches it (at most every 30 s) when a token names an unknown kid.
      this.jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
      });
    }
  }

  /** Reads the JWKS file once at start, so a missing or malformed file stops the process early. */
  async init(): Promise<void> {
    await this.jwksFile?.load();
  }

  private readonly resolveKey: KeyResolver = async (header, token) => {
    if (header.alg === "HS256") {
      if (this.secret === undefined)
        throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
      return this.secret;
    }
    if (this.jwks === undefined)
      throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    return this.jwks(header, token);
  };

  /** Verifies a compact JWT; returns the caller's identity and roles or throws a jose error. */
  async verify(token: string): Promise<{ identity: string; roles: Role[]; payload: JWTPayload }> {
    const { payload } = await jwtVerify(token, this.resolveKey, {
      algorithms: [...this.config.algorithms],
      issuer: this.config.issuer,
      audience: this.config.audience,
      requiredClaims: ["exp"],
      clockTolerance: this.config.clockToleranceSeconds,
    });
    // A token valid for longer than the service allows is refused even while unexpired: a leaked
    // one would otherwise open the API until its far-off exp.
    const now = Math.floor(Date.now() / 1000);
    const tolerance = this.config.clockToleranceSeconds;
    // jose checks iat only with maxTokenAge: an iat in the future would move the bound with it.
    if (payload.iat !== undefined && payload.iat > now + tolerance) {
      throw new errors.JWTClaimValidationFailed('"iat" is in the future', payload, "iat", "check_failed");
    }
    const issuedAt = payload.iat ?? now;
    const lifetime = this.config.maxLifetimeSeconds;
    if (payload.exp! - issuedAt > lifetime || payload.exp! - now > lifetime + tolerance) {
      throw new errors.JWTClaimValidationFailed(
        `"exp" is more than ${this.config.maxLifetimeSeconds} s after "iat"`,
        payload,
        "exp",
        "check_failed",
      );
    }
    const identity = payload[this.config.identityClaim];
    if (typeof identity !== "string" || identity === "") {
      throw new errors.JWTClaimValidationFailed(
        `missing "${this.config.identityClaim}" claim`,
        payload,
        this.config.identityClaim,
        "missing",
      );
    }
    return { identity, roles: rolesFromClaim(payload[this.config.rolesClaim]), payload };
  }
}
