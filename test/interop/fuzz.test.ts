/**
 * API fuzzing: schemathesis (pinned, .tools/fuzz-venv) generates requests from the OpenAPI document
 * the real service serves (`tsx service/main.ts` on the bundled model) and checks every response:
 * no 5xx, status documented, content type documented, body and headers valid against the
 * documented schemas, 405 with Allow for methods a path does not serve, 401 without valid
 * credentials, 4xx for every request that violates the documented schema.
 * All phases run (examples, coverage, fuzzing, stateful) with a fixed seed, so CI repeats the same
 * requests. Numbers are asserted from schemathesis' JSON report and its HAR log of every exchange.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzVenvProgram, runProgram, type ProgramResult } from "../support/fuzz-venv.js";
import { startServiceProcess, type ServiceProcess } from "../support/service-process.js";

const API_KEY = "fuzz-key-0123456789abcdef";
/** Fixed: the same seed generates the same requests on every run. */
const SEED = 20261122;
/** Per operation and phase; with 17 operations this yields about 1,300 requests. */
const MAX_EXAMPLES = 50;
const MIN_REQUESTS = 1000;
const CHECKS = [
  "not_a_server_error",
  "status_code_conformance",
  "content_type_conformance",
  "response_schema_conformance",
  "response_headers_conformance",
  // undocumented methods on a documented path: 405 with a correct Allow header
  "unsupported_method",
  "allow_header_conformance",
  // the same requests without the API key, or with a wrong one, must be refused
  "ignored_auth",
  // a request that violates the documented schema must be refused
  "negative_data_rejection",
];

interface JsonReport {
  seed: number;
  complete: boolean;
  exit_code: number;
  running_time: number;
  operations: { total: number; selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number };
  failures: { code: string; title: string; operations: string[] }[];
  errors: unknown[];
}

interface Har {
  log: { entries: { request: { method: string; url: string }; response: { status: number } }[] };
}

let service: ServiceProcess;
let reportDir: string;
let run: ProgramResult;
let report: JsonReport;
let exchanges: Har["log"]["entries"];
let documentedOperations: number;

beforeAll(async () => {
  const st = fuzzVenvProgram("st");
  // Admin role too, so the admin operations are fuzzed beyond their 403; no practical rate limit,
  // so the run exercises the routes rather than the limiter.
  service = await startServiceProcess({
    API_KEYS: `fuzzer:${API_KEY}`,
    API_KEY_ROLES: "fuzzer:admin",
    RATE_LIMIT_MAX: "1000000",
  });
  const spec = (await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: object };
  documentedOperations = Object.values(spec.paths).reduce((n, ops: object) => n + Object.keys(ops).length, 0);
  reportDir = await mkdtemp(path.join(tmpdir(), "plinth-fuzz-"));
  run = await runProgram(
    st,
    [
      "--no-color",
      "run",
      `${service.url}/openapi.json`,
      "--header",
      `x-api-key: ${API_KEY}`,
      "--checks",
      CHECKS.join(","),
      "--max-examples",
      String(MAX_EXAMPLES),
      "--seed",
      String(SEED),
      "--workers",
      "1",
      "--generation-database",
      "none",
      "--request-timeout",
      "30",
      "--report",
      "json,har",
      "--report-dir",
      reportDir,
    ],
    // In the temp dir: nothing of schemathesis' is left in the checkout.
    { cwd: reportDir, env: { PATH: process.env.PATH, HOME: reportDir }, timeoutMs: 540_000 },
  );
  const files = await readdir(reportDir);
  const read = async (prefix: string) => {
    const file = files.find((f) => f.startsWith(prefix) && f.endsWith(".json"));
    if (file === undefined)
      throw new Error(`no ${prefix} report; schemathesis said:\n${run.stdout}\n${run.stderr}`);
    return JSON.parse(await readFile(path.join(reportDir, file), "utf8"));
  };
  report = (await read("json-")) as JsonReport;
  exchanges = ((await read("har-")) as Har).log.entries;
  // One line of figures for the CI log (the README quotes them).
  const byStatus: Record<number, number> = {};
  for (const e of exchanges) byStatus[e.response.status] = (byStatus[e.response.status] ?? 0) + 1;
  console.info(
    `schemathesis seed ${SEED}: ${exchanges.length} requests, ${report.operations.tested} operations, ` +
      `${report.running_time.toFixed(0)} s, statuses ${JSON.stringify(byStatus)}`,
  );
}, 600_000);

afterAll(async () => {
  await service?.stop();
  if (reportDir !== undefined) await rm(reportDir, { recursive: true, force: true });
});

describe("schemathesis against the OpenAPI document", () => {
  it("tests every documented operation with the fixed seed, to completion", () => {
    expect(report.seed).toBe(SEED);
    expect(report.complete).toBe(true);
    expect(documentedOperations).toBeGreaterThanOrEqual(17);
    expect(report.operations).toMatchObject({
      total: documentedOperations,
      tested: documentedOperations,
      errored: 0,
    });
  });

  it(`sends at least ${MIN_REQUESTS} requests`, () => {
    expect(report.test_cases.generated).toBeGreaterThanOrEqual(MIN_REQUESTS);
    expect(exchanges.length).toBeGreaterThanOrEqual(MIN_REQUESTS);
  });

  it("finds no server error and no response outside the documented statuses, types and schemas", () => {
    const serverErrors = exchanges.filter((e) => e.response.status >= 500);
    expect(serverErrors.map((e) => `${e.request.method} ${e.request.url} -> ${e.response.status}`)).toEqual(
      [],
    );
    expect(report.failures, run.stdout).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report.test_cases.with_failures).toBe(0);
    expect(run.code, run.stdout).toBe(0);
  });

  it("reaches the handlers, not only the validators: every kind of answer occurs", () => {
    const statuses = new Set(exchanges.map((e) => e.response.status));
    for (const status of [200, 400, 404, 415]) expect(statuses, `status ${status}`).toContain(status);
    const ok = (route: RegExp) =>
      exchanges.some((e) => e.response.status === 200 && route.test(e.request.url));
    expect(ok(/\/v2\/models\/[^/]+\/infer$/)).toBe(true);
    expect(ok(/\/metadata$/)).toBe(true);
  });
});
