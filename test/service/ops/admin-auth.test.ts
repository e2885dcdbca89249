/**
 * Who may read /ops/summary, load /admin and reload models: the authorisation matrix, and the
 * audit records admin actions leave.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../service/ops/audit.js";
import { OPS_HEADERS, TESTER_HEADERS } from "../rollout/rollout-fixture.js";
import {
  ALICE,
  EMAIL,
  GROUPS,
  KEYS,
  PANEL,
  READER_HEADERS,
  token,
  TRUSTED_PROXY,
} from "./operator-callers.js";
import { errorCode, startTestService, type TestService } from "../server/service-fixture.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-audit-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function status(
  svc: TestService,
  url: string,
  headers: Record<string, string>,
  method: "GET" | "POST" = "GET",
) {
  const res = await svc.app.inject({ method, url, headers });
  return res.statusCode === 200 ? [200] : [res.statusCode, errorCode(res), res.json().error.message];
}

describe("admin authorisation with OPS_OIDC_TRUST_HEADERS off (the default)", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ ...KEYS, AUDIT_LOG_PATH: path.join(dir, "off.jsonl") });
  });
  afterAll(() => svc.close());

  it("answers /ops/summary only to callers with the admin or the ops-read role", async () => {
    expect(await status(svc, "/ops/summary", {})).toEqual([
      401,
      "UNAUTHENTICATED",
      "send an API key in x-api-key or a bearer token",
    ]);
    expect(await status(svc, "/ops/summary", TESTER_HEADERS)).toEqual([
      403,
      "FORBIDDEN",
      "key:tester does not hold the admin or ops-read role",
    ]);
    expect(await status(svc, "/ops/summary", { "x-api-key": "wrong-key-0123456789" })).toEqual([
      401,
      "INVALID_CREDENTIALS",
      "unknown API key",
    ]);
    expect(await status(svc, "/ops/summary", OPS_HEADERS)).toEqual([200]);
  });

  it("accepts a JWT only when its roles claim holds admin", async () => {
    const admin = { authorization: `Bearer ${await token({ roles: ["admin"] })}` };
    const plain = { authorization: `Bearer ${await token({ roles: ["force-variant"] })}` };
    expect(await status(svc, "/ops/summary", admin)).toEqual([200]);
    expect(await status(svc, "/ops/summary", plain)).toEqual([
      403,
      "FORBIDDEN",
      "jwt:alice does not hold the admin or ops-read role",
    ]);
  });

  it("ignores a forged X-Auth-Request-Email completely", async () => {
    expect(await status(svc, "/ops/summary", { [EMAIL]: "admin@example.com" })).toEqual([
      401,
      "UNAUTHENTICATED",
      "send an API key in x-api-key or a bearer token",
    ]);
    expect(await status(svc, "/ops/summary", { ...TESTER_HEADERS, [EMAIL]: "admin@example.com" })).toEqual([
      403,
      "FORBIDDEN",
      "key:tester does not hold the admin or ops-read role",
    ]);
    // The panel's page is a static shell either way; its data stays refused.
    expect(await status(svc, "/admin", { [EMAIL]: "admin@example.com" })).toEqual([200]);
  });

  it("audits reloads: a refused one as denied, an admin's with its result", async () => {
    expect(await status(svc, "/reload-model", TESTER_HEADERS, "POST")).toEqual([
      403,
      "FORBIDDEN",
      "key:tester does not hold the admin role",
    ]);
    expect(await status(svc, "/reload-model", OPS_HEADERS, "POST")).toEqual([200]);
    const records = (await readFile(path.join(dir, "off.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(records.map((r) => [r.who, r.action, r.result])).toEqual([
      ["anonymous", "reload-model", "denied"],
      ["key:ops", "reload-model", "ok"],
    ]);
    expect(records[0]!.detail).toEqual({
      status: 403,
      code: "FORBIDDEN",
      address: "127.0.0.1",
      reason: "key:tester does not hold the admin role",
    });
    expect(records[1]!.detail).toEqual({
      variant: "stable",
      outcome: "unchanged",
      previousVersion: "1",
      version: "1",
      attemptedVersion: "1",
    });
    expect(Date.parse(records[1]!.time)).not.toBeNaN();
    const counted = (await svc.observability.metrics.adminActions.get()).values.map((v) => [
      v.labels.action,
      v.labels.result,
      v.value,
    ]);
    expect(counted).toEqual([
      ["reload-model", "denied", 1],
      ["reload-model", "ok", 1],
    ]);
  });

  // After the audit test: the refusals below are audited too.
  it("lets the read-only role read the summary and nothing else", async () => {
    expect(await status(svc, "/ops/summary", READER_HEADERS)).toEqual([200]);
    expect(await status(svc, "/reload-model", READER_HEADERS, "POST")).toEqual([
      403,
      "FORBIDDEN",
      "key:reader does not hold the admin role",
    ]);
    const reader = { authorization: `Bearer ${await token({ roles: ["ops-read"] })}` };
    expect(await status(svc, "/ops/summary", reader)).toEqual([200]);
    expect(await status(svc, "/reload-model", reader, "POST")).toEqual([
      403,
      "FORBIDDEN",
      "jwt:alice does not hold the admin role",
    ]);
  });
});

describe("admin authorisation with OPS_OIDC_TRUST_HEADERS=true", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({
      ...KEYS,
      ...TRUSTED_PROXY,
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com, corp.example.org",
      AUDIT_LOG_PATH: path.join(dir, "on.jsonl"),
    });
  });
  afterAll(() => svc.close());

  it("admits oauth2-proxy users of the allowed domains", async () => {
    expect(await status(svc, "/ops/summary", ALICE)).toEqual([200]);
    expect(
      await status(svc, "/ops/summary", { [EMAIL]: "Bob@CORP.example.org", [GROUPS]: "plinth-admins" }),
    ).toEqual([200]);
    expect(await status(svc, "/admin", ALICE)).toEqual([200]);
  });

  it("grants roles by the identity provider's groups only, never by the email domain", async () => {
    const carol = (groups?: string) => ({
      [EMAIL]: "carol@example.com",
      ...(groups === undefined ? {} : { [GROUPS]: groups }),
      ...PANEL,
    });
    // Signed in, in the allowed domain, in no group that grants a role: the prediction API only.
    for (const groups of [undefined, "", "staff", "plinth-admins-old", "Plinth-Admins"]) {
      expect(await status(svc, "/ops/summary", carol(groups))).toEqual([
        403,
        "FORBIDDEN",
        "email:carol@example.com does not hold the admin or ops-read role",
      ]);
      expect(await status(svc, "/reload-model", carol(groups), "POST")).toEqual([
        403,
        "FORBIDDEN",
        "email:carol@example.com does not hold the admin role",
      ]);
    }
    // The read-only group reads the summary and nothing else.
    expect(await status(svc, "/ops/summary", carol("staff, sre-oncall"))).toEqual([200]);
    expect(await status(svc, "/admin", carol("sre-oncall"))).toEqual([
      403,
      "FORBIDDEN",
      "email:carol@example.com does not hold the admin role",
    ]);
    expect(await status(svc, "/reload-model", carol("sre-oncall"), "POST")).toEqual([
      403,
      "FORBIDDEN",
      "email:carol@example.com does not hold the admin role",
    ]);
    // The admin group, wherever it stands in the list.
    expect(await status(svc, "/admin", carol("sre-oncall,plinth-admins"))).toEqual([200]);
    // A group does not admit a user of another domain.
    expect(
      await status(svc, "/ops/summary", { [EMAIL]: "mallory@evil.com", [GROUPS]: "plinth-admins" }),
    ).toEqual([403, "FORBIDDEN", "email domain evil.com is not allowed to administer this service"]);
  });

  it("refuses other domains, look-alike domains and malformed addresses", async () => {
    expect(await status(svc, "/ops/summary", { [EMAIL]: "mallory@evil.com" })).toEqual([
      403,
      "FORBIDDEN",
      "email domain evil.com is not allowed to administer this service",
    ]);
    expect(await status(svc, "/ops/summary", { [EMAIL]: "mallory@example.com.evil.com" })).toEqual([
      403,
      "FORBIDDEN",
      "email domain example.com.evil.com is not allowed to administer this service",
    ]);
    expect(await status(svc, "/ops/summary", { [EMAIL]: "a@b@example.com" })).toEqual([
      403,
      "FORBIDDEN",
      "x-auth-request-email is not a single email address",
    ]);
    expect(await status(svc, "/admin", { [EMAIL]: "mallory@evil.com" })).toEqual([
      403,
      "FORBIDDEN",
      "email domain evil.com is not allowed to administer this service",
    ]);
  });

  it("still accepts an admin API key without the header", async () => {
    expect(await status(svc, "/ops/summary", OPS_HEADERS)).toEqual([200]);
    expect(await status(svc, "/ops/summary", TESTER_HEADERS)).toEqual([
      403,
      "FORBIDDEN",
      "key:tester does not hold the admin or ops-read role",
    ]);
  });

  it("audits a proxy user's reload under their email", async () => {
    expect(await status(svc, "/reload-model", { [EMAIL]: "mallory@evil.com", ...PANEL }, "POST")).toEqual([
      403,
      "FORBIDDEN",
      "email domain evil.com is not allowed to administer this service",
    ]);
    expect(await status(svc, "/reload-model", { ...ALICE, ...PANEL }, "POST")).toEqual([200]);
    const records = (await readFile(path.join(dir, "on.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    // (carol's refusals, from the test of groups, come first)
    expect(
      records.filter((r) => r.who !== "email:carol@example.com").map((r) => [r.who, r.action, r.result]),
    ).toEqual([
      ["email:mallory@evil.com", "reload-model", "denied"],
      ["email:alice@example.com", "reload-model", "ok"],
    ]);
  });

  it("refuses a signed-in user's admin action from another page (CSRF), and audits it", async () => {
    const user = ALICE;
    const refusal = (problem: string) => [
      403,
      "FORBIDDEN",
      `cross-site request refused: an admin action from a browser must come from this service's own pages (${problem})`,
    ];
    // A sibling host's page: same site, so the lax cookie went along; the browser says where from.
    expect(
      await status(
        svc,
        "/reload-model",
        { ...user, "sec-fetch-site": "same-site", "x-plinth-csrf": "1" },
        "POST",
      ),
    ).toEqual(refusal("the browser marked it Sec-Fetch-Site: same-site"));
    expect(await status(svc, "/reload-model", { ...user, "sec-fetch-site": "cross-site" }, "POST")).toEqual(
      refusal("the browser marked it Sec-Fetch-Site: cross-site"),
    );
    // A form post or a no-cors fetch cannot set the header, whatever the browser says.
    expect(await status(svc, "/reload-model", { ...user, "sec-fetch-site": "same-origin" }, "POST")).toEqual(
      refusal("it lacks the x-plinth-csrf header"),
    );
    expect(await status(svc, "/reload-model", user, "POST")).toEqual(
      refusal("it lacks the x-plinth-csrf header"),
    );
    // However many a page makes the browser send, the user is never locked out by them.
    for (let i = 0; i < 25; i++) {
      expect(
        (await status(svc, "/reload-model", { ...user, "sec-fetch-site": "same-site" }, "POST"))[0],
      ).toBe(403);
    }
    expect(await status(svc, "/reload-model", { ...user, ...PANEL }, "POST")).toEqual([200]);
    // Reads are not actions; API keys are never ambient.
    expect(await status(svc, "/ops/summary", { ...user, "sec-fetch-site": "cross-site" })).toEqual([200]);
    expect(
      await status(svc, "/reload-model", { ...OPS_HEADERS, "sec-fetch-site": "cross-site" }, "POST"),
    ).toEqual([200]);
    const records = (await readFile(path.join(dir, "on.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    // Four refusals of alice's within the minute: the first written, the rest folded into the next.
    const csrf = records.filter((r) => String(r.detail?.reason).startsWith("cross-site"));
    expect(csrf.map((r) => [r.who, r.result, r.detail?.status])).toEqual([
      ["email:alice@example.com", "denied", 403],
    ]);
  });
});

describe("identity headers with an edge token (OPS_OIDC_EDGE_TOKEN_SHA256)", () => {
  const EDGE_TOKEN = "edge-token-0123456789abcdef0123456789";
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({
      ...KEYS,
      OPS_OIDC_TRUST_HEADERS: "true",
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com",
      OPS_OIDC_ADMIN_GROUPS: "plinth-admins",
      OPS_OIDC_EDGE_TOKEN_SHA256: createHash("sha256").update(EDGE_TOKEN).digest("hex"),
    });
  });
  afterAll(() => svc.close());

  it("counts the proxy's headers only on requests the edge marked", async () => {
    expect(await status(svc, "/admin", { ...ALICE, "x-plinth-edge-token": EDGE_TOKEN })).toEqual([200]);
    // Another process that reaches the port directly names the admin: nobody is signed in.
    for (const token of [undefined, "", "edge-token-0123456789abcdef012345678", `${EDGE_TOKEN} `]) {
      const headers = { ...ALICE, ...(token === undefined ? {} : { "x-plinth-edge-token": token }) };
      expect(await status(svc, "/ops/summary", headers)).toEqual([
        401,
        "UNAUTHENTICATED",
        "send an API key in x-api-key or a bearer token",
      ]);
    }
    // Credentials of their own still work without it.
    expect(await status(svc, "/ops/summary", OPS_HEADERS)).toEqual([200]);
  });
});

describe("refused admin actions are limited per address", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({
      ...KEYS,
      AUTH_FAILURE_LIMIT: "3",
      AUDIT_LOG_PATH: path.join(dir, "limited.jsonl"),
    });
  });
  afterAll(() => svc.close());

  it("counts admin actions tried without credentials, then refuses the address's credentials with 429", async () => {
    // A key without the role is answered under its own identity: not counted.
    expect((await status(svc, "/reload-model", TESTER_HEADERS, "POST"))[0]).toBe(403);
    // Without credentials: on an API route a forgotten key, on an admin action a probe.
    for (let i = 0; i < 3; i++) expect((await status(svc, "/reload-model", {}, "POST"))[0]).toBe(401);
    // The limit is reached: even the admin's key is refused from this address until the window ends.
    const blocked = await svc.app.inject({ method: "POST", url: "/reload-model", headers: OPS_HEADERS });
    expect(blocked.statusCode).toBe(429);
    expect(errorCode(blocked)).toBe("RATE_LIMITED");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    // The three probes are one line (folded), and so would be any number of blocked requests.
    const written = (await readFile(path.join(dir, "limited.jsonl"), "utf8")).trim().split("\n");
    expect(written.map((line) => (JSON.parse(line) as AuditRecord).detail?.code)).toEqual([
      "FORBIDDEN",
      "UNAUTHENTICATED",
      "RATE_LIMITED",
    ]);
  });
});
