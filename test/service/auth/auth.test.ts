import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from "jose";
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  API_KEY,
  errorCode,
  OTHER_KEY,
  startTestService,
  type TestService,
} from "../server/service-fixture.js";

const SECRET = "an-hs256-secret-of-at-least-32-bytes!";
const ISSUER = "https://issuer.test";
const AUDIENCE = "plinth";

type Pair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: Pair;
let ec: Pair;
let rotated: Pair;
let dir: string;
let jwksFile: string;
let svc: TestService;

async function publicJwk(pair: Pair, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" };
}

function sign(alg: "HS256" | "RS256" | "ES256", key: Pair["privateKey"] | Uint8Array, kid?: string) {
  return (claims: Record<string, unknown> = {}, exp: string | number = "5m") =>
    new SignJWT({ sub: "alice", iss: ISSUER, aud: AUDIENCE, ...claims })
      .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key);
}
const hs = sign("HS256", new TextEncoder().encode(SECRET));

beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
  rotated = await generateKeyPair("RS256", { extractable: true });
  dir = await mkdtemp(path.join(tmpdir(), "plinth-jwks-"));
  jwksFile = path.join(dir, "jwks.json");
  await writeFile(
    jwksFile,
    JSON.stringify({ keys: [await publicJwk(rsa, "rsa-1", "RS256"), await publicJwk(ec, "ec-1", "ES256")] }),
  );
  svc = await startTestService({
    JWT_HS256_SECRET: SECRET,
    JWT_JWKS_FILE: jwksFile,
    JWT_ALGORITHMS: "HS256,RS256,ES256",
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    RATE_LIMIT_MAX: "1000",
  });
});
afterAll(async () => {
  await svc.close();
  await rm(dir, { recursive: true, force: true });
});

const metadata = (headers: Record<string, string>) =>
  svc.app.inject({ method: "GET", url: "/metadata", headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function refused(headers: Record<string, string>, code: string) {
  const res = await metadata(headers);
  expect(res.statusCode).toBe(401);
  expect(errorCode(res)).toBe(code);
  expect(res.headers["www-authenticate"]).toBe('Bearer realm="plinth"');
  return res.json().error.message as string;
}

describe("API keys", () => {
  it("accepts each configured key in x-api-key or as a bearer credential", async () => {
    expect((await metadata({ "x-api-key": API_KEY })).statusCode).toBe(200);
    expect((await metadata({ "x-api-key": OTHER_KEY })).statusCode).toBe(200);
    expect((await metadata(bearer(API_KEY))).statusCode).toBe(200);
  });

  it("refuses a request without credentials", async () => {
    await refused({}, "UNAUTHENTICATED");
  });

  it("refuses an unknown key, a key prefix and a malformed Authorization header", async () => {
    expect(await refused({ "x-api-key": "wrong-key-0123456789abcdef" }, "INVALID_CREDENTIALS")).toBe(
      "unknown API key",
    );
    await refused({ "x-api-key": API_KEY.slice(0, -1) }, "INVALID_CREDENTIALS");
    await refused({ authorization: `Basic ${API_KEY}` }, "INVALID_CREDENTIALS");
  });

  it("leaves health, readiness, v2 health and docs open", async () => {
    for (const url of ["/health", "/ready", "/v2/health/live", "/v2/health/ready", "/openapi.json"]) {
      expect((await svc.app.inject({ method: "GET", url })).statusCode, url).toBe(200);
    }
  });

  it("protects every other route", async () => {
    for (const [method, url] of [
      ["POST", "/predict"],
      ["POST", "/predict-image"],
      ["GET", "/metadata"],
      ["POST", "/reload-model"],
      ["GET", "/v2"],
      ["GET", "/v2/models/fashion-classifier"],
      ["GET", "/v2/models/fashion-classifier/ready"],
      ["POST", "/v2/models/fashion-classifier/infer"],
    ] as const) {
      const res = await svc.app.inject({ method, url });
      expect(res.statusCode, url).toBe(401);
      expect(errorCode(res)).toBe("UNAUTHENTICATED");
    }
  });
});

describe("JWT", () => {
  it("accepts HS256 with the shared secret", async () => {
    expect((await metadata(bearer(await hs()))).statusCode).toBe(200);
  });

  it("accepts RS256 and ES256 from the JWKS file, selected by kid", async () => {
    expect((await metadata(bearer(await sign("RS256", rsa.privateKey, "rsa-1")()))).statusCode).toBe(200);
    expect((await metadata(bearer(await sign("ES256", ec.privateKey, "ec-1")()))).statusCode).toBe(200);
  });

  it("refuses an expired token", async () => {
    const expired = await hs({}, Math.floor(Date.now() / 1000) - 60);
    expect(await refused(bearer(expired), "INVALID_CREDENTIALS")).toBe("token expired");
  });

  it("refuses a token valid for longer than a day, even unexpired, with or without iat", async () => {
    const now = Math.floor(Date.now() / 1000);
    // Issued now, expiring in a year: a leaked one would open the API for that year.
    expect(await refused(bearer(await hs({}, now + 365 * 86_400)), "INVALID_CREDENTIALS")).toBe(
      "token claim rejected: exp",
    );
    const noIat = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now + 2 * 86_400)
      .sign(new TextEncoder().encode(SECRET));
    expect(await refused(bearer(noIat), "INVALID_CREDENTIALS")).toBe("token claim rejected: exp");
    // Just inside the bound: accepted.
    const day = await svc.app.inject({
      method: "GET",
      url: "/metadata",
      headers: bearer(await hs({}, now + 86_400 - 60)),
    });
    expect(day.statusCode).toBe(200);
  });

  it("refuses a token issued in the future (it would carry the lifetime bound along)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now + 10 * 365 * 86_400)
      .setExpirationTime(now + 10 * 365 * 86_400 + 3600)
      .sign(new TextEncoder().encode(SECRET));
    expect(await refused(bearer(future), "INVALID_CREDENTIALS")).toBe("token claim rejected: iat");
  });

  it("refuses a token without exp", async () => {
    const token = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(new TextEncoder().encode(SECRET));
    expect(await refused(bearer(token), "INVALID_CREDENTIALS")).toBe("token claim rejected: exp");
  });

  it("refuses another issuer or audience", async () => {
    expect(await refused(bearer(await hs({ iss: "https://evil.test" })), "INVALID_CREDENTIALS")).toBe(
      "token claim rejected: iss",
    );
    expect(await refused(bearer(await hs({ aud: "someone-else" })), "INVALID_CREDENTIALS")).toBe(
      "token claim rejected: aud",
    );
  });

  it("refuses a token without the identity claim", async () => {
    await refused(bearer(await hs({ sub: undefined })), "INVALID_CREDENTIALS");
  });

  it("refuses alg none", async () => {
    const unsigned = new UnsecuredJWT({ sub: "alice" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .encode();
    expect(await refused(bearer(unsigned), "INVALID_CREDENTIALS")).toBe("token algorithm not accepted");
  });

  it("refuses algorithm confusion: an HS256 token keyed with the RSA public key", async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const header = Buffer.from(JSON.stringify({ alg: "HS256", kid: "rsa-1" })).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(
      JSON.stringify({ sub: "mallory", iss: ISSUER, aud: AUDIENCE, exp: now + 300 }),
    ).toString("base64url");
    const signature = createHmac("sha256", pem).update(`${header}.${payload}`).digest("base64url");
    expect(await refused(bearer(`${header}.${payload}.${signature}`), "INVALID_CREDENTIALS")).toBe(
      "token signature invalid",
    );
  });

  it("refuses a token signed by a key that is not in the JWKS, or with a forged kid", async () => {
    const stranger = await generateKeyPair("RS256");
    expect(
      await refused(bearer(await sign("RS256", stranger.privateKey, "rsa-9")()), "INVALID_CREDENTIALS"),
    ).toBe("token signed by an unknown key");
    expect(
      await refused(bearer(await sign("RS256", stranger.privateKey, "rsa-1")()), "INVALID_CREDENTIALS"),
    ).toBe("token signature invalid");
  });

  it("refuses a tampered payload", async () => {
    const [h, , s] = (await hs()).split(".");
    const forged = Buffer.from(
      JSON.stringify({ sub: "root", iss: ISSUER, aud: AUDIENCE, exp: 9e9 }),
    ).toString("base64url");
    await refused(bearer(`${h}.${forged}.${s}`), "INVALID_CREDENTIALS");
  });

  it("follows key rotation: a new kid added to the JWKS file is accepted without a restart", async () => {
    const token = await sign("RS256", rotated.privateKey, "rsa-2")();
    await refused(bearer(token), "INVALID_CREDENTIALS");
    await new Promise((r) => setTimeout(r, 20)); // a distinct mtime
    await writeFile(jwksFile, JSON.stringify({ keys: [await publicJwk(rotated, "rsa-2", "RS256")] }));
    expect((await metadata(bearer(token))).statusCode).toBe(200);
  });
});

describe("JWKS URL", () => {
  let server: Server;
  let urlSvc: TestService;
  beforeAll(async () => {
    const jwks = JSON.stringify({ keys: [await publicJwk(rsa, "rsa-1", "RS256")] });
    server = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(jwks),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    urlSvc = await startTestService({
      JWT_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
  });
  afterAll(async () => {
    await urlSvc.close();
    server.close();
  });

  it("verifies RS256 against the fetched key set and refuses HS256, which is not configured", async () => {
    const ok = await urlSvc.app.inject({
      method: "GET",
      url: "/metadata",
      headers: bearer(await sign("RS256", rsa.privateKey, "rsa-1")()),
    });
    expect(ok.statusCode).toBe(200);
    const hsRes = await urlSvc.app.inject({ method: "GET", url: "/metadata", headers: bearer(await hs()) });
    expect(hsRes.statusCode).toBe(401);
    expect(errorCode(hsRes)).toBe("INVALID_CREDENTIALS");
  });
});

describe("rate limits", () => {
  let limited: TestService;
  beforeAll(async () => {
    limited = await startTestService({ RATE_LIMIT_MAX: "3", RATE_LIMIT_WINDOW_MS: "60000" });
  });
  afterAll(() => limited.close());

  it("answers 429 with Retry-After and RateLimit headers once an identity exceeds its limit", async () => {
    const call = (key: string) =>
      limited.app.inject({ method: "GET", url: "/metadata", headers: { "x-api-key": key } });
    const first = await call(API_KEY);
    expect(first.headers["ratelimit-limit"]).toBe("3");
    expect(first.headers["ratelimit-remaining"]).toBe("2");
    await call(API_KEY);
    await call(API_KEY);
    const over = await call(API_KEY);
    expect(over.statusCode).toBe(429);
    expect(errorCode(over)).toBe("RATE_LIMITED");
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect(over.headers["ratelimit-remaining"]).toBe("0");
    // Per identity: the other key has its own bucket; health is never limited.
    expect((await call(OTHER_KEY)).statusCode).toBe(200);
    expect((await limited.app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
  });

  it("counts the API and operator routes, never health nor the docs (exempted by a later hook too)", async () => {
    const headersOf = async (url: string, headers: Record<string, string> = {}) =>
      (await limited.app.inject({ method: "GET", url, headers })).headers;
    expect((await headersOf("/metadata", { "x-api-key": OTHER_KEY }))["ratelimit-limit"]).toBe("3");
    for (const url of ["/health", "/openapi.json", "/docs/static/swagger-initializer.js", "/docs"]) {
      const headers = await headersOf(url);
      expect(headers["ratelimit-limit"], url).toBeUndefined();
      expect(headers["ratelimit-remaining"], url).toBeUndefined();
    }
  });
});
