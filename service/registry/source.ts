/**
 * The service's model source over any {@link ModelRegistry}: turns a variant's reference
 * (`models:/name@alias`, `models:/name/3`, `file:dir`, or a bare alias/version) into a verified
 * model file on local disk.
 *
 * Until a reference has resolved once, a registry that cannot be reached (connection refused,
 * timeout, 5xx) is retried with capped exponential backoff: a pod started before MLflow stays not
 * ready and becomes ready once MLflow answers. After that, failures are returned to the caller at
 * once, so a reload or an alias poll fails fast and the loaded version keeps serving.
 *
 * The waiting is for the process's default model, whose readiness is the pod's. A model served
 * beside it (MODEL_REPOSITORY) resolves through {@link withoutRegistryWait}: an unreachable
 * registry fails its load at once with a {@link RegistryUnreachableError}, and the model
 * repository reports it and retries on its own schedule (serving/model-repository.ts).
 *
 * A registry that answers but holds no version for a reference yet (no such model, no version,
 * the alias not set) is not retried here either: the failure becomes an {@link AwaitingVersionError}
 * (the same code and message, plus where and what to do), and the variant awaits its first version,
 * live and polled by its watcher (rollout/watcher.ts), instead of stopping the process.
 */
import { access } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import type { ModelSource } from "../inference/model-holder.js";
import { MlflowError } from "../mlflow/http.js";
import { MODEL_FILE } from "./local.js";
import { sha256File } from "./model-cache.js";
import { formatModelReference, parseModelReference, type ModelReference } from "./model-uri.js";
import { isVersionRef, RegistryError, type FetchedModel, type ModelRegistry } from "./registry.js";

/** The subset of pino's logger the source uses. */
export interface SourceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface StartupRetry {
  /** First delay after a failed attempt. Default 500 ms. */
  readonly initialDelayMs: number;
  /** Delays double up to this. Default 30 s. */
  readonly maxDelayMs: number;
}

export interface RegistryModelSourceOptions {
  readonly log?: SourceLogger;
  readonly startupRetry?: Partial<StartupRetry>;
}

export const DEFAULT_STARTUP_RETRY: StartupRetry = { initialDelayMs: 500, maxDelayMs: 30_000 };

/** The wait before attempt `attempt + 1` (attempt 1 is the first): doubling, capped. */
export function backoffDelayMs(policy: StartupRetry, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
}

/** Failures that a later attempt may not repeat: the registry was not reached or answered 5xx. */
export function isTransientRegistryError(err: unknown): boolean {
  return (err instanceof MlflowError && err.transient) || err instanceof RegistryUnreachableError;
}

/** A reference's registry did not answer (no connection, a timeout, 429 or 5xx): worth retrying later. */
export class RegistryUnreachableError extends Error {
  override readonly name = "RegistryUnreachableError";
  constructor(
    /** The registry, as {@link ModelRegistry.location} names it (`MLflow http://...`). */
    readonly location: string,
    /** The reference in URI form (`models:/iris@champion`). */
    readonly reference: string,
    cause: unknown,
  ) {
    super(`model registry ${location} could not be reached for ${reference}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * The registry answered and holds no version a reference names yet: the model is not registered
 * or has no version (MODEL_NOT_FOUND), the alias is not set (ALIAS_NOT_FOUND), or the version is
 * still being registered (VERSION_NOT_READY). A steady state on a fresh stack, never a crash: the
 * variant is live and awaits its first version (rollout/watcher.ts polls for it). A version number
 * the model does not have while it has others is not one of these: that reference is wrong.
 */
export class AwaitingVersionError extends RegistryError {
  constructor(
    /** The registry, as {@link ModelRegistry.location} names it (no credentials). */
    readonly location: string,
    /** The reference in URI form (`models:/iris@champion`). */
    readonly reference: string,
    /** What to do about it: register a version, set the alias. */
    readonly action: string,
    cause: RegistryError,
  ) {
    super(cause.code, cause.message);
  }

  /**
   * The registry holds no version of the model at all (a fresh registry): the one wait through
   * which a pod may take traffic. An alias or version missing on a model that has versions is more
   * likely a wrong reference, and a rollout must stall on it rather than replace serving pods.
   */
  get modelUnregistered(): boolean {
    return this.code === "MODEL_NOT_FOUND";
  }

  /** The whole story in one line, for /ready, a 503's message, the panel and the logs. */
  get reason(): string {
    return `awaiting its first version: ${this.reference} names no version in ${this.location} yet (${this.code}: ${this.message}); ${this.action}`;
  }
}

const AWAITING_CODES: ReadonlySet<string> = new Set([
  "MODEL_NOT_FOUND",
  "ALIAS_NOT_FOUND",
  "VERSION_NOT_READY",
]);

/** What makes `target` name a version: register one (with that number), point the alias at it. */
function awaitingAction(target: Exclude<ModelReference, { kind: "file" }>): string {
  const model = JSON.stringify(target.name);
  return target.kind === "alias"
    ? `register a version of model ${model} and set its alias ${JSON.stringify(target.alias)} to it`
    : `register version ${target.version} of model ${model}`;
}

/**
 * `source` for a model whose first load must not wait for an unreachable registry: a
 * {@link RegistryModelSource} then fails at once with a {@link RegistryUnreachableError}. Other
 * sources never wait, and are returned as they are.
 */
export function withoutRegistryWait(source: ModelSource): ModelSource {
  return source instanceof RegistryModelSource ? source.failingFast() : source;
}

function describe(err: unknown): { code: string; message: string } {
  if (err instanceof RegistryError) return { code: err.code, message: err.message };
  if (err instanceof MlflowError)
    return { code: err.errorCode ?? err.failure.toUpperCase(), message: err.message };
  return { code: "ERROR", message: (err as Error).message };
}

export class RegistryModelSource implements ModelSource {
  private readonly retry: StartupRetry;
  /** References (in URI form: a bare alias names a model only with MODEL_NAME) that resolved once. */
  private readonly resolvedOnce = new Set<string>();
  /** Last failure logged per reference, so a poll that keeps failing logs once, not every interval. */
  private readonly lastFailure = new Map<string, string>();
  private readonly closed = new AbortController();

  constructor(
    readonly registry: ModelRegistry,
    private readonly options: RegistryModelSourceOptions = {},
  ) {
    this.retry = { ...DEFAULT_STARTUP_RETRY, ...options.startupRetry };
  }

  /** The version `ref` names now (for a `file:` reference, the version {@link resolve} would report). */
  async resolveVersion(name: string, ref: string): Promise<string> {
    const target = parseModelReference(ref, name);
    if (target.kind === "file") return (await this.fileModel(name, target)).version;
    return this.attempt(ref, target, true, () =>
      this.registry.resolveVersion(target.name, target.kind === "alias" ? target.alias : target.version),
    );
  }

  resolve(name: string, ref: string): Promise<FetchedModel> {
    return this.fetchReference(name, ref, true);
  }

  /**
   * This source without the startup wait ({@link withoutRegistryWait}): a registry that cannot be
   * reached fails the call at once with a {@link RegistryUnreachableError}.
   */
  failingFast(): ModelSource {
    return {
      resolve: (name, ref) => this.fetchReference(name, ref, false),
      getAliases: (name) => this.getAliases(name),
    };
  }

  /** The model's aliases in the registry (shown in the rollout summary). */
  getAliases(name: string): Promise<Record<string, string>> {
    return this.registry.getAliases(name);
  }

  /** Stops startup retries still waiting (service shutdown). */
  close(): void {
    this.closed.abort(new Error("model source closed"));
  }

  private async fetchReference(name: string, ref: string, wait: boolean): Promise<FetchedModel> {
    const target = parseModelReference(ref, name);
    if (target.kind === "file") return this.fileModel(name, target);
    return this.attempt(ref, target, wait, async () => {
      const version = await this.registry.resolveVersion(
        target.name,
        target.kind === "alias" ? target.alias : target.version,
      );
      return this.registry.fetch(target.name, version);
    });
  }

  /**
   * Runs `run` for `ref` (naming `target`); `wait`: retry an unreachable registry until `ref` has
   * resolved once, else fail at once with a {@link RegistryUnreachableError}.
   */
  private async attempt<T>(
    ref: string,
    target: Exclude<ModelReference, { kind: "file" }>,
    wait: boolean,
    run: () => Promise<T>,
  ): Promise<T> {
    const key = formatModelReference(target);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await run();
        this.resolvedOnce.add(key);
        if (this.lastFailure.delete(key)) {
          this.options.log?.info({ ref, registry: this.registry.location }, "model reference resolves again");
        }
        return result;
      } catch (caught) {
        const err =
          caught instanceof RegistryError && AWAITING_CODES.has(caught.code)
            ? new AwaitingVersionError(this.registry.location, key, awaitingAction(target), caught)
            : caught;
        const { code, message } = describe(err);
        const transient = isTransientRegistryError(err);
        const retrying = wait && transient && !this.resolvedOnce.has(key) && !this.closed.signal.aborted;
        const delayMs = backoffDelayMs(this.retry, attempt);
        if (retrying || this.lastFailure.get(key) !== message) {
          const fields = {
            ref,
            registry: this.registry.location,
            code,
            err: message,
            ...(retrying ? { attempt, retryInMs: delayMs } : {}),
          };
          if (retrying)
            this.options.log?.warn(
              fields,
              "model registry unreachable before the first load; not ready, retrying",
            );
          else if (err instanceof AwaitingVersionError && !this.resolvedOnce.has(key))
            this.options.log?.warn(fields, `model ${ref}: ${err.reason}`);
          else this.options.log?.error(fields, `cannot resolve model ${ref}: ${message}`);
        }
        this.lastFailure.set(key, message);
        if (!retrying)
          throw !wait && transient ? new RegistryUnreachableError(this.registry.location, key, err) : err;
        // Unref'd: a retry loop alone must not keep a stopping process alive; close() ends it.
        await sleep(delayMs, undefined, { signal: this.closed.signal, ref: false });
      }
    }
  }

  /**
   * A folder holding model.onnx. Its version is the folder's name when that is a version number
   * (a local registry version folder), otherwise `sha-<first 12 hex of the sha256>`, so replacing
   * the file is seen as a new version by a reload. The model name is the configured one
   * (MODEL_NAME), which loading checks against the file's own metadata.
   */
  private async fileModel(
    name: string,
    target: Extract<ModelReference, { kind: "file" }>,
  ): Promise<FetchedModel> {
    const modelPath = path.join(target.dir, MODEL_FILE);
    try {
      await access(modelPath);
    } catch {
      throw new RegistryError(
        "VERSION_NOT_FOUND",
        `${formatModelReference(target)}: no ${MODEL_FILE} in ${target.dir}`,
      );
    }
    const sha256 = await sha256File(modelPath);
    const base = path.basename(target.dir);
    const version = isVersionRef(base) ? base : `sha-${sha256.slice(0, 12)}`;
    return { name, version, dir: target.dir, modelPath, sha256 };
  }
}
