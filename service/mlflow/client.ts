/**
 * A typed client for the parts of MLflow's REST API (2.0) that plinth uses: experiments, runs,
 * artifacts through the tracking server's artifact proxy, registered models, model versions,
 * aliases and search. Answers are validated with zod, so a server that answers something else
 * fails here, naming the endpoint, rather than somewhere downstream.
 */
import { z } from "zod";
import { MlflowError, MlflowHttp, type MlflowHttpOptions } from "./http.js";
import { artifactProxyPath } from "./artifact-uri.js";

const API = "/api/2.0/mlflow";
const ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts";

const keyValue = z.object({ key: z.string(), value: z.string().default("") });
const tagList = z.array(keyValue).default([]);

const experimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().optional(),
  lifecycle_stage: z.string().optional(),
});
export type Experiment = z.infer<typeof experimentSchema>;

const runSchema = z.object({
  info: z.object({
    run_id: z.string(),
    experiment_id: z.string(),
    status: z.string().optional(),
    artifact_uri: z.string(),
  }),
  data: z
    .object({
      metrics: z
        .array(z.object({ key: z.string(), value: z.number(), step: z.coerce.number().default(0) }))
        .default([]),
      params: tagList,
      tags: tagList,
    })
    .default({ metrics: [], params: [], tags: [] }),
});
export type Run = z.infer<typeof runSchema>;

export const MODEL_VERSION_STATUS = ["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"] as const;

const modelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  source: z.string().default(""),
  run_id: z.string().optional(),
  status: z.enum(MODEL_VERSION_STATUS).default("READY"),
  status_message: z.string().optional(),
  creation_timestamp: z.coerce.number().optional(),
  tags: tagList,
  aliases: z.array(z.string()).default([]),
});
export type ModelVersion = z.infer<typeof modelVersionSchema>;

const registeredModelSchema = z.object({
  name: z.string(),
  aliases: z.array(z.object({ alias: z.string(), version: z.string() })).default([]),
  tags: tagList,
});
export type RegisteredModel = z.infer<typeof registeredModelSchema>;

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";

export interface Metric {
  readonly key: string;
  readonly value: number;
  readonly step?: number;
  /** Milliseconds since the epoch; default now. */
  readonly timestamp?: number;
}

/** MLflow's limits per log-batch request. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

export interface LogBatch {
  readonly metrics?: readonly Metric[];
  readonly params?: Readonly<Record<string, string | number | boolean>>;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface WaitOptions {
  /** Default 60 s. */
  readonly timeoutMs?: number;
  /** Default 250 ms. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/** Converts `{key: value}` to MLflow's `[{key, value}]`. */
function toKeyValues(record: Readonly<Record<string, string | number | boolean>> | undefined) {
  return Object.entries(record ?? {}).map(([key, value]) => ({ key, value: String(value) }));
}

/** The tags of a version or run as a record. */
export function tagsOf(entity: { tags: readonly { key: string; value: string }[] }): Record<string, string> {
  return Object.fromEntries(entity.tags.map((t) => [t.key, t.value]));
}

/** The answer, or undefined when MLflow says the thing does not exist. */
async function undefinedIfMissing<T>(
  call: Promise<T>,
  alsoMissing: (err: MlflowError) => boolean = () => false,
): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof MlflowError && (err.notFound || alsoMissing(err))) return undefined;
    throw err;
  }
}

/** Gets a thing or creates it; a concurrent creator (RESOURCE_ALREADY_EXISTS) is read back. */
async function getOrCreate<T>(get: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
  const existing = await get();
  if (existing !== undefined) return existing;
  try {
    return await create();
  } catch (err) {
    if (!(err instanceof MlflowError && err.errorCode === "RESOURCE_ALREADY_EXISTS")) throw err;
    const created = await get();
    if (created === undefined) throw err;
    return created;
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class MlflowClient {
  readonly http: MlflowHttp;

  constructor(options: MlflowHttpOptions | MlflowHttp) {
    this.http = options instanceof MlflowHttp ? options : new MlflowHttp(options);
  }

  get trackingUri(): string {
    return this.http.baseUrl;
  }

  private async call<T extends z.ZodType>(
    schema: T,
    method: "GET" | "POST" | "PATCH" | "DELETE",
    endpoint: string,
    payload?: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<z.infer<T>> {
    const path = `${API}/${endpoint}`;
    // MLflow reads GET parameters from the query string and every other method's from a JSON body.
    const options =
      method === "GET"
        ? { query: payload as Record<string, string | number | undefined> | undefined, signal }
        : { body: payload ?? {}, signal };
    const raw = await this.http.json(method, path, options);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new MlflowError(
        `${method} ${path}`,
        "http",
        200,
        undefined,
        `unexpected answer: ${z.prettifyError(parsed.error).replace(/\n/g, "; ")}`,
      );
    }
    return parsed.data;
  }

  /** Health of the server: resolves when `/health` answers 200 (no retries). */
  async health(signal?: AbortSignal): Promise<void> {
    await this.http.bytes("GET", "/health", { signal });
  }

  // Experiments

  async getExperimentByName(name: string, signal?: AbortSignal): Promise<Experiment | undefined> {
    const answer = await undefinedIfMissing(
      this.call(
        z.object({ experiment: experimentSchema }),
        "GET",
        "experiments/get-by-name",
        { experiment_name: name },
        signal,
      ),
    );
    return answer?.experiment;
  }

  async createExperiment(name: string, signal?: AbortSignal): Promise<string> {
    const answer = await this.call(
      z.object({ experiment_id: z.string() }),
      "POST",
      "experiments/create",
      { name },
      signal,
    );
    return answer.experiment_id;
  }

  /** The id of the experiment `name`, created when missing (a concurrent creator is tolerated). */
  async ensureExperiment(name: string, signal?: AbortSignal): Promise<string> {
    return getOrCreate(
      async () => (await this.getExperimentByName(name, signal))?.experiment_id,
      () => this.createExperiment(name, signal),
    );
  }

  // Runs

  async createRun(
    experimentId: string,
    options: { runName?: string; tags?: Record<string, string>; startTime?: number } = {},
    signal?: AbortSignal,
  ): Promise<Run> {
    const answer = await this.call(
      z.object({ run: runSchema }),
      "POST",
      "runs/create",
      {
        experiment_id: experimentId,
        run_name: options.runName,
        start_time: options.startTime ?? Date.now(),
        tags: toKeyValues(options.tags),
      },
      signal,
    );
    return answer.run;
  }

  async getRun(runId: string, signal?: AbortSignal): Promise<Run> {
    const answer = await this.call(
      z.object({ run: runSchema }),
      "GET",
      "runs/get",
      { run_id: runId },
      signal,
    );
    return answer.run;
  }

  /** Every logged value of one metric of a run, in step order. */
  async getMetricHistory(
    runId: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<{ value: number; step: number }[]> {
    const answer = await this.call(
      z.object({
        metrics: z.array(z.object({ value: z.number(), step: z.coerce.number().default(0) })).default([]),
      }),
      "GET",
      "metrics/get-history",
      { run_id: runId, metric_key: key, max_results: 25_000 },
      signal,
    );
    return answer.metrics.sort((a, b) => a.step - b.step);
  }

  /** Logs metrics, params and tags, split into requests within MLflow's per-request limits. */
  async logBatch(runId: string, batch: LogBatch, signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const metrics = (batch.metrics ?? []).map((m) => ({
      key: m.key,
      value: m.value,
      step: m.step ?? 0,
      timestamp: m.timestamp ?? now,
    }));
    const params = toKeyValues(batch.params);
    const tags = toKeyValues(batch.tags);
    for (const p of chunks(params, LOG_BATCH_LIMITS.params)) {
      await this.call(z.object({}), "POST", "runs/log-batch", { run_id: runId, params: p }, signal);
    }
    for (const t of chunks(tags, LOG_BATCH_LIMITS.tags)) {
      await this.call(z.object({}), "POST", "runs/log-batch", { run_id: runId, tags: t }, signal);
    }
    for (const m of chunks(metrics, LOG_BATCH_LIMITS.metrics)) {
      await this.call(z.object({}), "POST", "runs/log-batch", { run_id: runId, metrics: m }, signal);
    }
  }

  async updateRun(runId: string, status: RunStatus, signal?: AbortSignal): Promise<void> {
    const endTime = status === "RUNNING" || status === "SCHEDULED" ? undefined : Date.now();
    await this.call(
      z.object({}),
      "POST",
      "runs/update",
      { run_id: runId, status, end_time: endTime },
      signal,
    );
  }

  // Artifacts (through the tracking server's proxy: `mlflow server --serve-artifacts`)

  /** Uploads `content` to `<artifactUri>/<relativePath>` (artifactUri: a run's `mlflow-artifacts:` URI). */
  async uploadArtifact(
    artifactUri: string,
    relativePath: string,
    content: Uint8Array | string,
    signal?: AbortSignal,
  ): Promise<void> {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const path = `${ARTIFACTS_API}/${artifactProxyPath(artifactUri, relativePath)}`;
    await this.http.json("PUT", path, { body: bytes, signal });
  }

  async downloadArtifact(
    artifactUri: string,
    relativePath: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const path = `${ARTIFACTS_API}/${artifactProxyPath(artifactUri, relativePath)}`;
    return this.http.bytes("GET", path, { signal });
  }

  /** Files directly under `<artifactUri>/<relativePath>`. */
  async listArtifacts(
    artifactUri: string,
    relativePath = "",
    signal?: AbortSignal,
  ): Promise<{ path: string; isDir: boolean; size: number | undefined }[]> {
    const schema = z.object({
      files: z
        .array(
          z.object({
            path: z.string(),
            is_dir: z.boolean().default(false),
            file_size: z.coerce.number().optional(),
          }),
        )
        .default([]),
    });
    const raw = await this.http.json("GET", ARTIFACTS_API, {
      query: { path: decodeURIComponent(artifactProxyPath(artifactUri, relativePath)) },
      signal,
    });
    const parsed = schema.parse(raw);
    return parsed.files.map((f) => ({ path: f.path, isDir: f.is_dir, size: f.file_size }));
  }

  // Registered models

  async getRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel | undefined> {
    const answer = await undefinedIfMissing(
      this.call(
        z.object({ registered_model: registeredModelSchema }),
        "GET",
        "registered-models/get",
        { name },
        signal,
      ),
    );
    return answer?.registered_model;
  }

  async createRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel> {
    const answer = await this.call(
      z.object({ registered_model: registeredModelSchema }),
      "POST",
      "registered-models/create",
      { name },
      signal,
    );
    return answer.registered_model;
  }

  /** The registered model `name`, created when missing (a concurrent creator is tolerated). */
  async ensureRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel> {
    return getOrCreate(
      () => this.getRegisteredModel(name, signal),
      () => this.createRegisteredModel(name, signal),
    );
  }

  // Model versions

  async createModelVersion(
    name: string,
    source: string,
    options: { runId?: string; tags?: Record<string, string>; description?: string } = {},
    signal?: AbortSignal,
  ): Promise<ModelVersion> {
    const answer = await this.call(
      z.object({ model_version: modelVersionSchema }),
      "POST",
      "model-versions/create",
      {
        name,
        source,
        run_id: options.runId,
        tags: toKeyValues(options.tags),
        description: options.description,
      },
      signal,
    );
    return answer.model_version;
  }

  async getModelVersion(name: string, version: string, signal?: AbortSignal): Promise<ModelVersion> {
    const answer = await this.call(
      z.object({ model_version: modelVersionSchema }),
      "GET",
      "model-versions/get",
      { name, version },
      signal,
    );
    return answer.model_version;
  }

  async setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(z.object({}), "POST", "model-versions/set-tag", { name, version, key, value }, signal);
  }

  /** The artifact URI the version's files are downloaded from (resolves `runs:/` sources). */
  async getModelVersionDownloadUri(name: string, version: string, signal?: AbortSignal): Promise<string> {
    const answer = await this.call(
      z.object({ artifact_uri: z.string() }),
      "GET",
      "model-versions/get-download-uri",
      { name, version },
      signal,
    );
    return answer.artifact_uri;
  }

  /** Polls the version until it leaves PENDING_REGISTRATION; throws on FAILED_REGISTRATION or timeout. */
  async waitUntilReady(name: string, version: string, options: WaitOptions = {}): Promise<ModelVersion> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const mv = await this.getModelVersion(name, version, options.signal);
      if (mv.status === "READY") return mv;
      const endpoint = `GET ${API}/model-versions/get`;
      if (mv.status === "FAILED_REGISTRATION") {
        throw new MlflowError(
          endpoint,
          "http",
          200,
          undefined,
          `${name} version ${version} failed registration: ${mv.status_message ?? "no message"}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new MlflowError(
          endpoint,
          "timeout",
          undefined,
          undefined,
          `${name} version ${version} still ${mv.status}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  /** Every version of `name` (all pages), newest first. */
  async searchModelVersions(name: string, signal?: AbortSignal): Promise<ModelVersion[]> {
    const schema = z.object({
      model_versions: z.array(modelVersionSchema).default([]),
      next_page_token: z.string().optional(),
    });
    const escaped = name.replace(/'/g, "\\'");
    const versions: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call(
        schema,
        "GET",
        "model-versions/search",
        { filter: `name='${escaped}'`, max_results: 200, page_token: pageToken },
        signal,
      );
      versions.push(...page.model_versions);
      pageToken = page.next_page_token || undefined;
    } while (pageToken !== undefined);
    return versions.sort((a, b) => Number(b.version) - Number(a.version));
  }

  // Aliases

  async setAlias(name: string, alias: string, version: string, signal?: AbortSignal): Promise<void> {
    await this.call(z.object({}), "POST", "registered-models/alias", { name, alias, version }, signal);
  }

  /** Deletes an alias; MLflow answers success for an alias that does not exist. */
  async deleteAlias(name: string, alias: string, signal?: AbortSignal): Promise<void> {
    await this.call(z.object({}), "DELETE", "registered-models/alias", { name, alias }, signal);
  }

  /**
   * The version `alias` points at; undefined when the model has no such alias. MLflow answers a
   * missing alias with 400 INVALID_PARAMETER_VALUE (not 404), told apart by its message.
   */
  async getVersionByAlias(
    name: string,
    alias: string,
    signal?: AbortSignal,
  ): Promise<ModelVersion | undefined> {
    const answer = await undefinedIfMissing(
      this.call(
        z.object({ model_version: modelVersionSchema }),
        "GET",
        "registered-models/alias",
        { name, alias },
        signal,
      ),
      isMissingAlias,
    );
    return answer?.model_version;
  }
}

function isMissingAlias(err: MlflowError): boolean {
  return err.errorCode === "INVALID_PARAMETER_VALUE" && /alias .* not found/i.test(err.message);
}
