/**
 * The local stack's identity provider: npm `oidc-provider` (a certified OpenID Provider) with one
 * confidential client (oauth2-proxy), a fixed set of users checked by email and password on a small
 * login page, consent implied for that one first-party client, and a signing key made per run.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import { z } from "zod";

export const oidcUserSchema = z.strictObject({
  email: z.email(),
  password: z.string().min(12),
  name: z.string().min(1),
  /** The `groups` claim (oauth2-proxy forwards it as X-Auth-Request-Groups). */
  groups: z.array(z.string().min(1)).default([]),
});
export type OidcUser = z.infer<typeof oidcUserSchema>;

/** What the provider process is started with (a JSON file only its owner can read). */
export const oidcSettingsSchema = z.strictObject({
  issuer: z.url(),
  port: z.number().int().min(1).max(65535),
  client: z.strictObject({
    id: z.string().min(1),
    secret: z.string().min(32),
    redirectUri: z.url(),
    /** The callbacks of the client's other hosts (oauth2-proxy signs in on the host asked for). */
    otherRedirectUris: z.array(z.url()).optional(),
  }),
  users: z.array(oidcUserSchema).min(1),
  /** Keys that sign the provider's own cookies. */
  cookieKeys: z.array(z.string().min(32)).min(1),
});
export type OidcSettings = z.infer<typeof oidcSettingsSchema>;

const SCOPES = "openid email profile groups";
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/;
/** Largest login form accepted (two short fields). */
const MAX_FORM_BYTES = 4096;

function samePassword(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid: string, message: string | undefined): string {
  const alert = message === undefined ? "" : `<p role="alert">${escapeHtml(message)}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - plinth local OIDC</title></head>
<body><main><h1>Sign in to the plinth local identity provider</h1>${alert}
<form method="post" action="/interaction/${uid}/login">
<label>Email <input type="email" name="email" autocomplete="username" required autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error("login form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/** The login form posts here, and its answer redirects on to the client (form-action covers both). */
function send(res: ServerResponse, status: number, html: string, clientOrigins: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": `default-src 'none'; form-action 'self' ${clientOrigins}`,
  });
  res.end(html);
}

function redirectUris(settings: OidcSettings): string[] {
  return [settings.client.redirectUri, ...(settings.client.otherRedirectUris ?? [])];
}

/** The provider's configuration: one client, the users as accounts, no dev-only shortcuts. */
async function configuration(settings: OidcSettings): Promise<Configuration> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "local-1", alg: "RS256", use: "sig" };
  const users = new Map(settings.users.map((user) => [user.email, user]));
  return {
    clients: [
      {
        client_id: settings.client.id,
        client_secret: settings.client.secret,
        redirect_uris: redirectUris(settings),
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: settings.cookieKeys },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    // oauth2-proxy reads the email from the ID token.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    // Seconds; a sign-in lasts as long as oauth2-proxy's cookie (8 h).
    ttl: {
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      AuthorizationCode: 60,
      AccessToken: 3600,
      IdToken: 3600,
    },
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const user = users.get(id);
      if (user === undefined) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: user.groups,
        }),
      };
    },
    // oauth2-proxy is the only client and first-party: signing in grants it the standard scopes.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, provider } = ctx.oidc;
      if (client === undefined || session?.accountId === undefined) return undefined;
      const existing = session.grantIdFor(client.clientId);
      if (existing !== undefined) return provider.Grant.find(existing);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(SCOPES);
      await grant.save();
      session.grantIdFor(client.clientId, grant.jti);
      return grant;
    },
  };
}

/** The provider and a request handler that serves its login page in front of it. */
export async function createOidcHandler(
  settings: OidcSettings,
): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const provider = new Provider(settings.issuer, await configuration(settings));
  const users = new Map(settings.users.map((user) => [user.email, user]));
  const providerCallback = provider.callback();
  // The login form posts to the provider, which redirects to one of the client's callbacks.
  const clientOrigin = [...new Set(redirectUris(settings).map((uri) => new URL(uri).origin))].join(" ");
  const page = (res: ServerResponse, status: number, html: string) => send(res, status, html, clientOrigin);

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, isLogin: boolean) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== "login") {
      page(res, 400, "<!doctype html><p>This sign-in request has expired. Start again.</p>");
      return;
    }
    if (!isLogin || req.method !== "POST") {
      page(res, 200, loginPage(uid, undefined));
      return;
    }
    const form = await readForm(req);
    const email = form.get("email") ?? "";
    const user = users.get(email);
    if (user === undefined || !samePassword(form.get("password") ?? "", user.password)) {
      page(res, 401, loginPage(uid, "Unknown email or wrong password."));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.email } });
  }

  return (req, res) => {
    const match = INTERACTION_PATH.exec(new URL(req.url ?? "/", settings.issuer).pathname);
    if (match === null) {
      providerCallback(req, res);
      return;
    }
    interaction(req, res, match[1]!, match[2] !== undefined).catch((err: unknown) => {
      // oidc-provider's errors carry the reader-facing text in error_description.
      const described = (err as { error_description?: unknown }).error_description;
      const message =
        typeof described === "string" ? described : err instanceof Error ? err.message : String(err);
      if (!res.headersSent) page(res, 400, `<!doctype html><p>${escapeHtml(message)}</p>`);
      else res.end();
    });
  };
}
