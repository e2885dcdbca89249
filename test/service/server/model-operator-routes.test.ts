/**
 * The operator routes under the process's model name (`/models/<MODEL_NAME>/admin`, `/ops/summary`,
 * `/reload-model`): every request is answered exactly as the bare route answers it (the same auth,
 * roles, oauth2-proxy headers only with the edge token, CSRF on the panel's POST, audit, rate
 * limit), the panel under the prefix names its assets relatively, and no other name has them: not
 * an unknown model, not a MODEL_REPOSITORY model of the same process.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../service/ops/audit.js";
import { FIXTURE_NAME } from "../inference/fixture-model.js";
import { matmulModel } from "../inference/matmul-model.js";
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
} from "../ops/operator-callers.js";
import { startTestService, type TestService } from "./service-fixture.js";

const PREFIX = `/models/${FIXTURE_NAME}`;

const CAROL_READER = { [EMAIL]: "carol@example.com", [GROUPS]: "sre-oncall" };
const MALLORY = { [EMAIL]: "mallory@evil.com", [GROUPS]: "plinth-admins" };
const EDGE_TOKEN = "edge-token-0123456789abcdef0123456789";
const EDGE = { "x-plinth-edge-token": EDGE_TOKEN };

type Method = "GET" | "POST";

/** What a response says, without what differs per request (request id, date). */
async function answer(svc: TestService, method: Method, url: string, headers: Record<string, string>) {
  const res = await svc.app.inject({ method, url, headers });
  const type = String(res.headers["content-type"] ?? "");
  const body = type.startsWith("application/json") ? (res.json() as Record<string, unknown>) : res.body;
  if (typeof body === "object" && body !== null && "error" in body) {
    const { requestId, ...error } = (body as { error: { requestId: string } }).error;
    expect(requestId, url).toMatch(/^[0-9a-f-]{36}$/);
    return { status: res.statusCode, type, error };
  }
  return {
    status: res.statusCode,
    type,
    csp: res.headers["content-security-policy"],
    // A summary's time and counters move between two reads; its shape and its model do not.
    body:
      typeof body === "object" && body !== null && "generatedAt" in body
        ? { keys: Object.keys(body).sort(), model: (body as { rollout: { model: string } }).rollout.model }
        : body,
  };
}

/** Asserts the route under the prefix answers `headers` as the bare one does; returns the answer. */
async function sameAsBare(svc: TestService, method: Method, route: string, headers: Record<string, string>) {
  const bare = await answer(svc, method, route, headers);
  const byName = await answer(svc, method, `${PREFIX}${route}`, headers);
  expect(byName, `${method} ${PREFIX}${route} ${JSON.stringify(headers)}`).toEqual(bare);
  return byName;
}

async function auditRecords(file: string): Promise<AuditRecord[]> {
  return (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as AuditRecord);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-model-ops-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("operator routes under the model's name, API credentials (trusted headers off)", () => {
  let svc: TestService;
  const audit = () => path.join(dir, "off.jsonl");
  beforeAll(async () => {
    svc = await startTestService(
      { ...KEYS, AUDIT_LOG_PATH: audit(), MODEL_REPOSITORY: "tabular=champion" },
      "probabilities",
      async ({ registry }) => {
        const tabular = await registry.registerVersion("tabular", {
          "model.onnx": matmulModel([1, 0, 0, 1, 0, 0]),
        });
        await registry.setAlias("tabular", "champion", tabular);
      },
    );
  }, 60_000);
  afterAll(() => svc.close());

  it("answers the summary, the panel and its assets as the bare routes do, for every caller", async () => {
    const admin = { authorization: `Bearer ${await token({ roles: ["admin"] })}` };
    const plain = { authorization: `Bearer ${await token({ roles: ["force-variant"] })}` };
    const callers: Record<string, string>[] = [
      {},
      TESTER_HEADERS,
      { "x-api-key": "wrong-key-0123456789" },
      READER_HEADERS,
      OPS_HEADERS,
      admin,
      plain,
      // Ignored entirely with the flag off.
      ALICE,
    ];
    for (const headers of callers) {
      for (const route of [
        "/ops/summary",
        "/admin",
        "/admin/panel.js",
        "/admin/charts.js",
        "/admin/panel.css",
      ]) {
        await sameAsBare(svc, "GET", route, headers);
      }
    }
    // And what those answers are: the summary to admins and readers, refusals in the envelope.
    expect(await sameAsBare(svc, "GET", "/ops/summary", OPS_HEADERS)).toMatchObject({
      status: 200,
      body: { model: FIXTURE_NAME },
    });
    expect(await sameAsBare(svc, "GET", "/ops/summary", READER_HEADERS)).toMatchObject({ status: 200 });
    expect(await sameAsBare(svc, "GET", "/ops/summary", {})).toMatchObject({
      status: 401,
      error: { code: "UNAUTHENTICATED", message: "send an API key in x-api-key or a bearer token" },
    });
    expect(await sameAsBare(svc, "GET", "/ops/summary", TESTER_HEADERS)).toMatchObject({
      status: 403,
      error: { code: "FORBIDDEN", message: "key:tester does not hold the admin or ops-read role" },
    });
    expect(await sameAsBare(svc, "GET", "/ops/summary", plain)).toMatchObject({
      status: 403,
      error: { code: "FORBIDDEN", message: "jwt:alice does not hold the admin or ops-read role" },
    });
    expect(await sameAsBare(svc, "GET", "/admin", {})).toMatchObject({
      status: 200,
      type: "text/html; charset=utf-8",
      csp: expect.stringContaining("script-src 'self'"),
    });
  });

  it("reloads and refuses under the model's name as the bare route does, and audits both alike", async () => {
    // Every admin action and refusal is counted (a repeated refusal is folded in the file, not here).
    const counted = async () =>
      Object.fromEntries(
        (await svc.observability.metrics.adminActions.get()).values.map((v) => [
          `${v.labels.action} ${v.labels.result}`,
          v.value,
        ]),
      );
    for (const [headers, result] of [
      [{}, "denied"],
      [TESTER_HEADERS, "denied"],
      [READER_HEADERS, "denied"],
      [OPS_HEADERS, "ok"],
    ] as const) {
      for (const url of ["/reload-model", `${PREFIX}/reload-model`]) {
        const before = (await counted())[`reload-model ${result}`] ?? 0;
        await answer(svc, "POST", url, headers);
        expect((await counted())[`reload-model ${result}`], `${url} ${JSON.stringify(headers)}`).toBe(
          before + 1,
        );
      }
      await sameAsBare(svc, "POST", "/reload-model", headers);
    }
    expect(await sameAsBare(svc, "POST", "/reload-model", {})).toMatchObject({
      status: 401,
      error: { code: "UNAUTHENTICATED" },
    });
    expect(await sameAsBare(svc, "POST", "/reload-model", TESTER_HEADERS)).toMatchObject({
      status: 403,
      error: { code: "FORBIDDEN", message: "key:tester does not hold the admin role" },
    });
    expect(await sameAsBare(svc, "POST", "/reload-model", OPS_HEADERS)).toMatchObject({
      status: 200,
      body: { results: [{ variant: "stable", trigger: "api", result: "unchanged" }] },
    });
    // Each admin's reload written with who did it, by name as bare.
    const oks = (await auditRecords(audit())).filter((r) => r.result === "ok");
    expect(oks.map((r) => [r.who, r.action, r.detail?.variant])).toEqual(
      Array.from({ length: 6 }, () => ["key:ops", "reload-model", "stable"]),
    );
    const denied = (await auditRecords(audit())).filter((r) => r.result === "denied");
    expect(denied.map((r) => r.detail?.status)).toEqual(expect.arrayContaining([401, 403]));
    expect(svc.rollout.snapshot().lastReload).toMatchObject({ trigger: "api", by: "key:ops" });
  });

  it("has no operator routes for another name: an unknown model, or a MODEL_REPOSITORY model", async () => {
    // tabular is served by this process (its predictions answer), but its operator routes are not.
    const predict = await svc.app.inject({
      method: "POST",
      url: "/v2/models/tabular/infer",
      headers: OPS_HEADERS,
      payload: { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] },
    });
    expect(predict.statusCode).toBe(200);
    for (const name of ["other", "tabular"]) {
      for (const [method, route] of [
        ["GET", "/admin"],
        ["GET", "/admin/panel.js"],
        ["GET", "/ops/summary"],
        ["POST", "/reload-model"],
      ] as const) {
        const res = await svc.app.inject({ method, url: `/models/${name}${route}`, headers: OPS_HEADERS });
        expect([res.statusCode, res.json().error.code], `${method} /models/${name}${route}`).toEqual([
          404,
          "NOT_FOUND",
        ]);
      }
    }
  });

  it("serves the panel under the prefix naming its assets, data and actions relatively", async () => {
    const html = (await svc.app.inject({ url: `${PREFIX}/admin` })).body;
    expect(html).toContain('<link rel="stylesheet" href="admin/panel.css" />');
    expect(html).toContain('<script type="module" src="admin/panel.js"></script>');
    // Nothing absolute: it would leave the model's base for the bare routes (the default model's).
    expect(html).not.toMatch(/(href|src|action)="\//);
    const script = (await svc.app.inject({ url: `${PREFIX}/admin/panel.js` })).body;
    expect(script).toContain('"ops/summary"');
    expect(script).toContain('"reload-model"');
    expect(script).toContain('from "./charts.js"');
    expect(script).not.toMatch(/["']\/(ops|reload-model|admin)/);
  });

  it("leaves the copies by name out of the OpenAPI document; the bare routes say they exist", async () => {
    const spec = (await svc.app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { description?: string }>>;
    };
    const paths = Object.keys(spec.paths);
    expect(paths.filter((p) => p.startsWith(PREFIX))).toEqual([]);
    expect(spec.paths["/ops/summary"]!.get!.description).toContain("`/models/<MODEL_NAME>/ops/summary`");
    expect(spec.paths["/reload-model"]!.post!.description).toContain("`/models/<MODEL_NAME>/reload-model`");
  });
});

describe("operator routes under the model's name, oauth2-proxy users (trusted, with the edge token)", () => {
  let svc: TestService;
  const audit = () => path.join(dir, "on.jsonl");
  beforeAll(async () => {
    svc = await startTestService({
      ...KEYS,
      ...TRUSTED_PROXY,
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com",
      OPS_OIDC_EDGE_TOKEN_SHA256: createHash("sha256").update(EDGE_TOKEN).digest("hex"),
      AUDIT_LOG_PATH: audit(),
    });
  }, 60_000);
  afterAll(() => svc.close());

  it("admits the proxy's users by their groups, only beside the edge token, as the bare routes do", async () => {
    for (const user of [ALICE, CAROL_READER, MALLORY]) {
      for (const edge of [EDGE, {}]) {
        for (const route of ["/ops/summary", "/admin", "/admin/panel.js"]) {
          await sameAsBare(svc, "GET", route, { ...user, ...edge });
        }
      }
    }
    expect(await sameAsBare(svc, "GET", "/admin", { ...ALICE, ...EDGE })).toMatchObject({ status: 200 });
    expect(await sameAsBare(svc, "GET", "/ops/summary", { ...ALICE, ...EDGE })).toMatchObject({
      status: 200,
      body: { model: FIXTURE_NAME },
    });
    expect(await sameAsBare(svc, "GET", "/ops/summary", { ...CAROL_READER, ...EDGE })).toMatchObject({
      status: 200,
    });
    expect(await sameAsBare(svc, "GET", "/admin", { ...CAROL_READER, ...EDGE })).toMatchObject({
      status: 403,
      error: { code: "FORBIDDEN", message: "email:carol@example.com does not hold the admin role" },
    });
    expect(await sameAsBare(svc, "GET", "/admin", { ...MALLORY, ...EDGE })).toMatchObject({
      status: 403,
      error: {
        code: "FORBIDDEN",
        message: "email domain evil.com is not allowed to administer this service",
      },
    });
    // Without the edge's token the headers name nobody.
    expect(await sameAsBare(svc, "GET", "/ops/summary", ALICE)).toMatchObject({
      status: 401,
      error: { code: "UNAUTHENTICATED", message: "send an API key in x-api-key or a bearer token" },
    });
  });

  it("refuses a signed-in user's reload by name from another page (CSRF), takes the panel's, and audits both", async () => {
    const refusal = (problem: string) => ({
      status: 403,
      error: {
        code: "FORBIDDEN",
        message: `cross-site request refused: an admin action from a browser must come from this service's own pages (${problem})`,
      },
    });
    const url = `${PREFIX}/reload-model`;
    expect(
      await answer(svc, "POST", url, {
        ...ALICE,
        ...EDGE,
        "sec-fetch-site": "same-site",
        "x-plinth-csrf": "1",
      }),
    ).toMatchObject(refusal("the browser marked it Sec-Fetch-Site: same-site"));
    expect(
      await answer(svc, "POST", url, { ...ALICE, ...EDGE, "sec-fetch-site": "same-origin" }),
    ).toMatchObject(refusal("it lacks the x-plinth-csrf header"));
    expect((await answer(svc, "POST", url, { ...ALICE, ...EDGE, ...PANEL })).status).toBe(200);
    // The second refusal of the minute is folded into the file's next line, and counted.
    const records = await auditRecords(audit());
    expect(records.map((r) => [r.who, r.action, r.result, r.detail?.reason])).toEqual([
      [
        "email:alice@example.com",
        "reload-model",
        "denied",
        "cross-site request refused: an admin action from a browser must come from this service's own pages (the browser marked it Sec-Fetch-Site: same-site)",
      ],
      ["email:alice@example.com", "reload-model", "ok", undefined],
    ]);
    const counted = (await svc.observability.metrics.adminActions.get()).values.map((v) => [
      v.labels.result,
      v.value,
    ]);
    expect(counted).toEqual([
      ["denied", 2],
      ["ok", 1],
    ]);
  });
});

describe("operator routes under the model's name, rate limits", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ ...KEYS, RATE_LIMIT_MAX: "3", RATE_LIMIT_WINDOW_MS: "60000" });
  }, 60_000);
  afterAll(() => svc.close());

  it("counts the routes by name in the caller's one budget, with the same limit and refusal", async () => {
    const get = (url: string) => svc.app.inject({ url, headers: OPS_HEADERS });
    const first = await get("/ops/summary");
    const second = await get(`${PREFIX}/ops/summary`);
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.headers["ratelimit-limit"]).toBe("3");
    expect(first.headers["ratelimit-remaining"]).toBe("2");
    expect(second.headers["ratelimit-remaining"]).toBe("1");
    expect((await get(`${PREFIX}/ops/summary`)).statusCode).toBe(200);
    const refused = await get(`${PREFIX}/ops/summary`);
    expect([refused.statusCode, refused.json().error.code]).toEqual([429, "RATE_LIMITED"]);
    expect((await get("/ops/summary")).statusCode).toBe(429);
  });
});
