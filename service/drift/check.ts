/**
 * The drift check: the platform's scheduled job (components/inference, CronJob "drift-check"), run
 * from the service's image as `node dist/service/drift/check.js` (service/contract/image-commands.ts). It asks the running
 * service for `GET /ops/summary` with an API key holding the read-only `ops-read` role and prints a compact drift report of the
 * stable variant: score, level, top features by PSI, trend.
 *
 * Settings (service/drift/check-settings.ts): DRIFT_CHECK_SERVICE_URL, DRIFT_CHECK_API_KEY,
 * DRIFT_CHECK_TIMEOUT_MS. The thresholds are the service's own (DRIFT_WARN_PSI, DRIFT_ALERT_PSI):
 * the check reports the level the service computed, so the two can never disagree.
 *
 * Exit status: 0 drift ok or warn (or no score yet), 1 drift at the alert level, 2 no verdict (the
 * service cannot be reached, answers an error or an unexpected body, or the version has no
 * baseline or cannot be monitored at all, e.g. a model without plinth metadata), 3 invalid settings.
 */
import { checkedSummarySchema, driftVerdict, EXIT, type DriftVerdict } from "./check-report.js";
import {
  DriftCheckSettingsError,
  loadDriftCheckSettings,
  type DriftCheckSettings,
} from "./check-settings.js";

const SUMMARY_PATH = "ops/summary";
/** Most characters of a non-JSON error body quoted in the report. */
const QUOTED_BODY = 200;

function unavailable(...lines: string[]): DriftVerdict {
  return { status: EXIT.unavailable, lines };
}

/** `<base>/ops/summary`, keeping any path prefix of the base URL. */
function summaryUrl(serviceUrl: string): string {
  return new URL(SUMMARY_PATH, serviceUrl.endsWith("/") ? serviceUrl : `${serviceUrl}/`).href;
}

/** Why fetch failed, in the words of the underlying socket error when there is one. */
function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The service's error envelope as `CODE: message`, or the start of whatever else it sent. */
function errorDetail(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.code === "string") return `${error.code}: ${String(error.message)}`;
  } catch {
    // Not JSON: quoted below.
  }
  const text = body.trim().slice(0, QUOTED_BODY);
  return text === "" ? "(empty body)" : text;
}

async function checkDrift(settings: DriftCheckSettings): Promise<DriftVerdict> {
  const url = summaryUrl(settings.serviceUrl);
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      headers: { "x-api-key": settings.apiKey, accept: "application/json" },
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    body = await response.text();
  } catch (err) {
    return unavailable(`drift check: cannot reach ${url}: ${networkReason(err, settings.timeoutMs)}`);
  }
  if (response.status !== 200) {
    return unavailable(
      `drift check: GET ${url} answered ${response.status} ${response.statusText}: ${errorDetail(body)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return unavailable(`drift check: GET ${url} answered 200 with a body that is not JSON`);
  }
  const parsed = checkedSummarySchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    return unavailable(
      `drift check: GET ${url} answered 200 with an unexpected summary:`,
      ...problems.map((p) => `  ${p}`),
    );
  }
  return driftVerdict(parsed.data, url);
}

async function main(): Promise<void> {
  let settings: DriftCheckSettings;
  try {
    settings = loadDriftCheckSettings(process.env);
  } catch (err) {
    if (!(err instanceof DriftCheckSettingsError)) throw err;
    process.stderr.write(`drift check: ${err.message}\n`);
    process.exitCode = EXIT.badSettings;
    return;
  }
  const verdict = await checkDrift(settings);
  const stream = verdict.status === EXIT.unavailable ? process.stderr : process.stdout;
  stream.write(verdict.lines.map((line) => `${line}\n`).join(""));
  process.exitCode = verdict.status;
}

await main();
