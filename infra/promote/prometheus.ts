/**
 * The little of Prometheus' HTTP API the gates need: one instant query that reduces to a single
 * number. An empty vector, several series, NaN or ±Inf is "no value": the caller treats it as
 * inconclusive, never as zero.
 */

/** A query the server refused or could not answer, or a server that could not be reached. */
export class PrometheusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrometheusError";
  }
}

export interface PrometheusOptions {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (PROMETHEUS_URL). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when set (PROMETHEUS_BEARER_TOKEN). */
  readonly bearerToken?: string;
  /** Per-query timeout. @default 10000 */
  readonly timeoutMs?: number;
}

interface QueryResponse {
  status: "success" | "error";
  error?: string;
  data?: { resultType: string; result: unknown };
}

export class PrometheusClient {
  private readonly base: URL;

  constructor(private readonly options: PrometheusOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new PrometheusError(`PROMETHEUS_URL: expected an http(s) URL, got "${options.url}"`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new PrometheusError(`PROMETHEUS_URL: expected an http(s) URL, got "${options.url}"`);
    }
    this.base = base;
  }

  /** Evaluates `expr` now; the single sample's value, or undefined when there is none or it is not finite. */
  async scalar(expr: string): Promise<number | undefined> {
    const url = new URL("api/v1/query", this.base.href.endsWith("/") ? this.base : `${this.base.href}/`);
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (this.options.bearerToken) headers.authorization = `Bearer ${this.options.bearerToken}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: new URLSearchParams({ query: expr }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new PrometheusError(`PROMETHEUS_URL ${this.base.href}: ${(err as Error).message}`);
    }
    const body = (await response.json().catch(() => undefined)) as QueryResponse | undefined;
    if (!response.ok || body?.status !== "success" || body.data === undefined) {
      const reason = body?.error ?? `HTTP ${response.status}`;
      throw new PrometheusError(`Prometheus refused the query (${reason}): ${expr}`);
    }
    return sampleValue(body.data);
  }
}

/** The one finite value of a vector or scalar result; undefined for anything else. */
export function sampleValue(data: { resultType: string; result: unknown }): number | undefined {
  let text: unknown;
  if (data.resultType === "scalar" && Array.isArray(data.result)) text = data.result[1];
  else if (data.resultType === "vector" && Array.isArray(data.result) && data.result.length === 1) {
    text = (data.result[0] as { value?: unknown[] }).value?.[1];
  }
  if (typeof text !== "string") return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
