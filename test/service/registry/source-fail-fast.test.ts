/**
 * The model source's two ways with a registry that cannot be reached (registry/source.ts): the
 * default model's first load waits for it (retrying), a MODEL_REPOSITORY model's fails at once
 * with an error naming the registry and the reference, so its repository can report and retry it.
 */
import { describe, expect, it } from "vitest";
import { MlflowClient } from "../../../service/mlflow/client.js";
import { MlflowModelRegistry } from "../../../service/registry/mlflow-model-registry.js";
import {
  isTransientRegistryError,
  RegistryModelSource,
  RegistryUnreachableError,
  withoutRegistryWait,
} from "../../../service/registry/source.js";
import { freePort } from "../../support/mlflow-server.js";

/** A source over MLflow at a port nothing listens on, one HTTP attempt per call. */
async function unreachableSource(): Promise<{ source: RegistryModelSource; url: string }> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const client = new MlflowClient({ trackingUri: url, retry: { attempts: 1 } });
  const source = new RegistryModelSource(new MlflowModelRegistry(client), {
    startupRetry: { initialDelayMs: 20, maxDelayMs: 40 },
  });
  return { source, url };
}

describe("a registry that cannot be reached", () => {
  it("fails a repository model's resolve at once, naming the registry and the reference in URI form", async () => {
    const { source, url } = await unreachableSource();
    const err = (await withoutRegistryWait(source)
      .resolve("iris", "champion")
      .catch((e: unknown) => e)) as RegistryUnreachableError;
    expect(err).toBeInstanceOf(RegistryUnreachableError);
    expect(isTransientRegistryError(err)).toBe(true);
    expect(err).toMatchObject({ location: `MLflow ${url}`, reference: "models:/iris@champion" });
    expect(err.message).toMatch(
      new RegExp(
        `^model registry MLflow ${url.replace(/\./g, "\\.")} could not be reached for models:/iris@champion: ` +
          `MLflow GET /api/2\\.0/mlflow/registered-models/get: unreachable: cannot reach ${url.replace(/\./g, "\\.")} \\(ECONNREFUSED\\)$`,
      ),
    );
  });

  it("keeps the default model's first resolve waiting for it, until the source closes", async () => {
    const { source } = await unreachableSource();
    let settled = false;
    const waiting = source.resolve("iris", "champion").finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    source.close();
    await expect(waiting).rejects.toThrow();
  });

  it("returns any other source as it is", () => {
    const plain = { resolve: () => Promise.reject(new Error("none")) };
    expect(withoutRegistryWait(plain)).toBe(plain);
  });
});
