/**
 * The transport under the MLflow client: one JSON or byte request against the tracking server,
 * with a per-attempt timeout, exponential backoff with jitter on connection errors, timeouts and
 * 5xx/429 answers, and errors that name the endpoint and MLflow's `error_code`.
 *
 * Retrying a POST after a 5xx can repeat a write; MLflow's own client makes the same trade, and
 * every write plinth issues is either idempotent (log-batch keys, tags, aliases) or harmless to
 * repeat (a second run, a second version) next to a registry that cannot be reached at all.
 */

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly attempts: number;
  /** Delay before the first retry; doubled for each further retry. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface MlflowHttpOptions {
  /** The tracking server, e.g. `http://mlflow:5000` (MLFLOW_TRACKING_URI). */
  readonly trackingUri: string;
  /** Per-attempt timeout. Default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Sent as `Authorization` on every request (e.g. `Bearer ...`), when set. */
  readonly authorization?: string;
  /** Replaces the global fetch (tests). */
  readonly fetch?: typeof fetch;
  /** Replaces the backoff sleep (tests). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 5000 };
const DEFAULT_TIMEOUT_MS = 10_000;

/** Why a request failed: MLflow answered with an error, or no usable answer arrived. */
export type MlflowFailure = "http" | "unreachable" | "timeout";

/** A failed MLflow call; `endpoint` is `METHOD /path`, `errorCode` MLflow's `error_code` when it sent one. */
export class MlflowError extends Error {
  override readonly name = "MlflowError";
  constructor(
    readonly endpoint: string,
    readonly failure: MlflowFailure,
    readonly status: number | undefined,
    readonly errorCode: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `MLflow ${endpoint}: ${errorCode ?? (status === undefined ? failure : `HTTP ${status}`)}: ${detail}`,
      options,
    );
  }

  /** True for failures a later attempt may not repeat: no answer, a timeout, 429 or a 5xx. */
  get transient(): boolean {
    return this.failure !== "http" || this.status === 429 || (this.status ?? 0) >= 500;
  }

  /** MLflow's answer for a missing experiment, run, model, version or alias. */
  get notFound(): boolean {
    return this.errorCode === "RESOURCE_DOES_NOT_EXIST" || this.status === 404;
  }
}

export interface RequestOptions {
  readonly query?: Record<string, string | number | undefined>;
  /** A JSON body (object) or raw bytes (artifact upload). */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The error body MLflow sends: `{"error_code": "...", "message": "..."}`. */
function parseErrorBody(text: string): { errorCode?: string; message?: string } {
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    return {
      errorCode: typeof body.error_code === "string" ? body.error_code : undefined,
      message: typeof body.message === "string" ? body.message : undefined,
    };
  } catch {
    return {};
  }
}

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

export class MlflowHttp {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: MlflowHttpOptions) {
    let url: URL;
    try {
      url = new URL(options.trackingUri);
    } catch {
      throw new Error(`MLflow tracking URI ${JSON.stringify(options.trackingUri)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`MLflow tracking URI ${JSON.stringify(options.trackingUri)}: expected http(s)://`);
    }
    // fetch refuses such a URL, and every message naming the server would carry the secret.
    if (url.username !== "" || url.password !== "") {
      throw new Error(
        `MLflow tracking URI ${url.protocol}//${url.host}: holds credentials (user:secret@); ` +
          "remove them and give the token as MLFLOW_TRACKING_TOKEN",
      );
    }
    this.baseUrl = url.href.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** A JSON call to `/api/2.0/mlflow/...` or the artifact proxy; the parsed body. */
  async json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.send(method, path, options, "application/json");
    const text = await response.text();
    if (text === "") return {};
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new MlflowError(`${method} ${path}`, "http", response.status, undefined, "answer is not JSON", {
        cause: err,
      });
    }
  }

  /** A call whose answer is bytes (artifact download). */
  async bytes(method: string, path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    const response = await this.send(method, path, options, "application/octet-stream");
    return new Uint8Array(await response.arrayBuffer());
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    accept: string,
  ): Promise<Response> {
    const endpoint = `${method} ${path}`;
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept };
    let body: Uint8Array | string | undefined;
    if (options.body instanceof Uint8Array) {
      headers["content-type"] = "application/octet-stream";
      body = options.body;
    } else if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    if (this.options.authorization !== undefined) headers.authorization = this.options.authorization;

    for (let attempt = 1; ; attempt++) {
      let failure: MlflowError;
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
      try {
        const response = await this.fetchImpl(url, { method, headers, body, signal });
        if (response.ok) return response;
        const text = await response.text().catch(() => "");
        const parsed = parseErrorBody(text);
        failure = new MlflowError(
          endpoint,
          "http",
          response.status,
          parsed.errorCode,
          parsed.message ?? (text.slice(0, 200) || response.statusText),
        );
      } catch (err) {
        // The caller's own abort ends the call at once; only our per-attempt timeout is retried.
        if (options.signal?.aborted) throw options.signal.reason as Error;
        const timedOut = timeout.aborted;
        failure = new MlflowError(
          endpoint,
          timedOut ? "timeout" : "unreachable",
          undefined,
          undefined,
          timedOut
            ? `no answer within ${this.timeoutMs} ms`
            : `cannot reach ${this.baseUrl} (${describeCause(err)})`,
          { cause: err },
        );
      }
      if (!failure.transient || attempt >= this.retry.attempts) throw failure;
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** (attempt - 1));
      // Jitter (half to full backoff): clients that failed together do not retry in step.
      await this.sleep(Math.round(backoff * (0.5 + Math.random() / 2)), options.signal);
    }
  }
}
