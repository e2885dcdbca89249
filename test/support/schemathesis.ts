/**
 * API fuzzing of the real service process with schemathesis (pinned, .tools/fuzz-venv): one suite
 * per served model (test/interop/fuzz*.test.ts). schemathesis generates requests from the OpenAPI
 * document the service serves and checks every response: no 5xx, status documented, content type
 * documented, body and headers valid against the documented schemas, 405 with Allow for methods a
 * path does not serve, 401 without valid credentials, 4xx for every request that violates the
 * documented schema. All phases run (examples, coverage, fuzzing, stateful) with a fixed seed, so
 * CI repeats the same requests. Numbers are asserted from schemathesis' JSON report and its HAR log
 * of every exchange.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzVenvProgram, runProgram, type ProgramResult } from "./fuzz-venv.js";
import { startServiceProcess, type ServiceProcess } from "./service-process.js";

const API_KEY = "fuzz-key-0123456789abcdef";
/** Fixed: the same seed generates the same requests on every run. */
const SEED = 20261122;
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

/** An OpenAPI document, as far as the suites look into it. */
export type OpenApiDocument = { paths: Record<string, Record<string, unknown>> } & Record<string, unknown>;

export interface FuzzTarget {
  /** The service's settings beyond the fuzzer's key and limits (the model it serves). */
  readonly env: () => Record<string, string>;
  /** Examples per operation and phase. */
  readonly maxExamples: number;
  readonly minRequests: number;
  /** Routes (matched against the request URL) that must answer 200 at least once. */
  readonly answered: readonly RegExp[];
  /**
   * The document schemathesis reads, from the served one (default: the served one, read by URL).
   * A rewritten one is read from a file, its requests sent to the service.
   */
  readonly document?: (served: OpenApiDocument) => OpenApiDocument;
}

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

export interface FuzzRun {
  readonly service: ServiceProcess;
  readonly served: OpenApiDocument;
  readonly read: OpenApiDocument;
  readonly run: ProgramResult;
  readonly report: JsonReport;
  readonly exchanges: Har["log"]["entries"];
}

/** Operations (path and method pairs) of a document. */
export function operationCount(document: OpenApiDocument): number {
  return Object.values(document.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
}

/** Starts the service, runs schemathesis against it and reads its reports. */
async function fuzz(target: FuzzTarget, reportDir: string, started: (s: ServiceProcess) => void) {
  const st = fuzzVenvProgram("st");
  // Admin role too, so the admin operations are fuzzed beyond their 403; no practical rate limit
  // and no failed-authentication limit (ignored_auth sends wrong keys after every 200), so the run
  // exercises the routes rather than the limiters.
  const service = await startServiceProcess({
    ...target.env(),
    API_KEYS: `fuzzer:${API_KEY}`,
    API_KEY_ROLES: "fuzzer:admin",
    RATE_LIMIT_MAX: "1000000",
    AUTH_FAILURE_LIMIT: "0",
  });
  started(service);
  const served = (await (await fetch(`${service.url}/openapi.json`)).json()) as OpenApiDocument;
  const read = target.document?.(structuredClone(served)) ?? served;
  let location = [`${service.url}/openapi.json`];
  if (read !== served) {
    const file = path.join(reportDir, "openapi.json");
    await writeFile(file, JSON.stringify(read));
    location = [file, "--url", service.url];
  }
  const run = await runProgram(
    st,
    [
      "--no-color",
      "run",
      ...location,
      "--header",
      `x-api-key: ${API_KEY}`,
      "--checks",
      CHECKS.join(","),
      "--max-examples",
      String(target.maxExamples),
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
  const reportFile = async (prefix: string) => {
    const file = files.find((f) => f.startsWith(prefix) && f.endsWith(".json"));
    if (file === undefined)
      throw new Error(`no ${prefix} report; schemathesis said:\n${run.stdout}\n${run.stderr}`);
    return JSON.parse(await readFile(path.join(reportDir, file), "utf8"));
  };
  const report = (await reportFile("json-")) as JsonReport;
  const exchanges = ((await reportFile("har-")) as Har).log.entries;
  // One line of figures for the CI log (docs/service-api.md quotes them).
  const byStatus: Record<number, number> = {};
  for (const e of exchanges) byStatus[e.response.status] = (byStatus[e.response.status] ?? 0) + 1;
  console.info(
    `schemathesis seed ${SEED}: ${exchanges.length} requests, ${report.operations.tested} operations, ` +
      `${report.running_time.toFixed(0)} s, statuses ${JSON.stringify(byStatus)}`,
  );
  return { service, served, read, run, report, exchanges };
}

/**
 * Registers the suite: a beforeAll that fuzzes the target and the checks every target must pass.
 * Returns the run, for a target's own checks (read it inside tests).
 */
export function describeFuzzing(title: string, target: FuzzTarget): () => FuzzRun {
  let result: FuzzRun | undefined;
  let service: ServiceProcess | undefined;
  let reportDir: string | undefined;

  beforeAll(async () => {
    reportDir = await mkdtemp(path.join(tmpdir(), "plinth-fuzz-"));
    result = await fuzz(target, reportDir, (s) => (service = s));
  }, 600_000);

  afterAll(async () => {
    await service?.stop();
    if (reportDir !== undefined) await rm(reportDir, { recursive: true, force: true });
  });

  const fuzzed = () => result!;
  describe(title, () => {
    it("tests every documented operation with the fixed seed, to completion", () => {
      const { report, served } = fuzzed();
      const documented = operationCount(served);
      expect(report.seed).toBe(SEED);
      expect(report.complete).toBe(true);
      expect(documented).toBeGreaterThanOrEqual(17);
      expect(report.operations).toMatchObject({ total: documented, tested: documented, errored: 0 });
    });

    it(`sends at least ${target.minRequests} requests`, () => {
      const { report, exchanges } = fuzzed();
      expect(report.test_cases.generated).toBeGreaterThanOrEqual(target.minRequests);
      expect(exchanges.length).toBeGreaterThanOrEqual(target.minRequests);
    });

    it("finds no server error and no response outside the documented statuses, types and schemas", () => {
      const { report, exchanges, run } = fuzzed();
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
      const { exchanges } = fuzzed();
      const statuses = new Set(exchanges.map((e) => e.response.status));
      for (const status of [200, 400, 404, 415]) expect(statuses, `status ${status}`).toContain(status);
      // The fuzzer's limits are lifted: a 429 means a limiter, not the routes, answered the rest of
      // the run (the failed-authentication limit once locked out 1,112 of 1,406 requests).
      expect(statuses).not.toContain(429);
      for (const route of target.answered) {
        const ok = exchanges.some((e) => e.response.status === 200 && route.test(e.request.url));
        expect(ok, `a 200 from ${route}`).toBe(true);
      }
    });
  });
  return fuzzed;
}
