/**
 * The local identity provider's login page, in process: the sign-in form, wrong and unknown
 * credentials, an oversized form, an interaction that does not exist, and a good sign-in that
 * sends the browser back to the client with a code.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOidcHandler } from "../../../stack/local/oidc/provider.js";

const REDIRECT_URI = "https://127.0.0.1:8443/oauth2/callback";
const USER = { email: "ada@plinth.test", password: "correct-horse-battery", name: "Ada" };
let server: Server;
let issuer: string;

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const handler = await createOidcHandler({
    issuer,
    port: (server.address() as AddressInfo).port,
    client: { id: "plinth-local", secret: "s".repeat(40), redirectUri: REDIRECT_URI },
    users: [{ ...USER, groups: [] }],
    cookieKeys: ["k".repeat(40)],
  });
  server.on("request", handler);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Starts an authorization request; returns the login page's path and the provider's cookies. */
async function startLogin(): Promise<{ path: string; cookie: string }> {
  const verifier = randomBytes(32).toString("base64url");
  const params = new URLSearchParams({
    client_id: "plinth-local",
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    scope: "openid email profile",
    state: "state-1",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  });
  const response = await fetch(`${issuer}/auth?${params}`, { redirect: "manual" });
  expect(response.status).toBe(303);
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  return { path: response.headers.get("location")!, cookie };
}

function post(path: string, cookie: string, form: string): Promise<Response> {
  return fetch(`${issuer}${path}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: form,
  });
}

describe("local OIDC provider login", () => {
  it("shows the sign-in form with a CSP that lets it post back and continue to the client", async () => {
    const { path, cookie } = await startLogin();
    expect(path).toMatch(/^\/interaction\/[A-Za-z0-9_-]+$/);
    const page = await fetch(`${issuer}${path}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(
      "default-src 'none'; form-action 'self' https://127.0.0.1:8443",
    );
    const html = await page.text();
    expect(html).toContain(`<form method="post" action="${path}/login">`);
  });

  it("refuses a wrong password and an unknown user with 401 and the same message", async () => {
    const { path, cookie } = await startLogin();
    for (const form of [
      new URLSearchParams({ email: USER.email, password: "wrong-password-123" }),
      new URLSearchParams({ email: "eve@plinth.test", password: USER.password }),
    ]) {
      const response = await post(path, cookie, form.toString());
      expect(response.status).toBe(401);
      expect(await response.text()).toContain('<p role="alert">Unknown email or wrong password.</p>');
    }
  });

  it("refuses a login form over 4 KiB with 400", async () => {
    const { path, cookie } = await startLogin();
    const response = await post(path, cookie, `email=${"a".repeat(5000)}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("login form too large");
  });

  it("answers 400 for an interaction without its cookie", async () => {
    const response = await fetch(`${issuer}/interaction/does-not-exist`);
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("<!doctype html><p>interaction session id cookie not found</p>");
  });

  it("signs a known user in and sends the browser back to the client with a code", async () => {
    const { path, cookie } = await startLogin();
    const response = await post(path, cookie, new URLSearchParams(USER).toString());
    expect(response.status).toBe(303);
    const resume = response.headers.get("location")!;
    const back = await fetch(new URL(resume, issuer), { redirect: "manual", headers: { cookie } });
    expect(back.status).toBe(303);
    const callback = new URL(back.headers.get("location")!);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get("state")).toBe("state-1");
    expect(callback.searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });
});
