/**
 * The MLflow registry's address as it is shown (`/v2/repository/index` reasons, logs, admin
 * errors, the cache folder's name) never carries the tracking URI's credentials: no `user:token@`,
 * no query string or fragment.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient } from "../../../service/mlflow/client.js";
import { MlflowModelRegistry, registryAddress } from "../../../service/registry/mlflow-model-registry.js";
import { ModelCache } from "../../../service/registry/model-cache.js";
import { RegistryError } from "../../../service/registry/registry.js";

const SECRET_URI = "https://alice:s3cr3t-token@mlflow.example.com:5000/mlflow?token=q-s3cr3t#frag";
/** What MlflowHttp accepts (credentials in the userinfo are refused at once): a token in the query. */
const QUERY_SECRET_URI = "https://mlflow.example.com:5000/mlflow?token=q-s3cr3t#frag";

describe("registryAddress", () => {
  it.each([
    [SECRET_URI, "https://mlflow.example.com:5000/mlflow"],
    ["http://token@10.0.0.1:5000", "http://10.0.0.1:5000"],
    ["http://u:p%40ss@host/a/b", "http://host/a/b"],
    ["http://host:5000/x?api_key=abc", "http://host:5000/x"],
  ])("%s is shown as %s", (uri, shown) => {
    expect(registryAddress(uri)).toBe(shown);
  });

  it("leaves an address without credentials as it is", () => {
    for (const uri of ["http://127.0.0.1:5000", "https://mlflow.example.com/mlflow", "http://host:5000/a@b"])
      expect(registryAddress(uri)).toBe(uri);
  });
});

describe("an MLflow registry whose tracking URI holds credentials", () => {
  it("is refused at once when they are in the userinfo, naming the host only", () => {
    expect(() => new MlflowClient({ trackingUri: SECRET_URI })).toThrow(
      "MLflow tracking URI https://mlflow.example.com:5000: holds credentials (user:secret@)",
    );
  });

  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "plinth-registry-address-"));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  // An MLflow that knows no model: every answer a 404 RESOURCE_DOES_NOT_EXIST.
  const notFound: typeof fetch = () =>
    Promise.resolve(
      new Response(JSON.stringify({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "no such thing" }), {
        status: 404,
        headers: { "content-type": "application/json" },
      }),
    );
  const registry = () =>
    new MlflowModelRegistry(
      new MlflowClient({ trackingUri: QUERY_SECRET_URI, fetch: notFound, retry: { attempts: 1 } }),
      new ModelCache(tmp),
    );

  it("names itself without them", () => {
    expect(registry().location).toBe("MLflow https://mlflow.example.com:5000/mlflow");
  });

  it("refuses without them", async () => {
    for (const call of [
      (r: MlflowModelRegistry) => r.getAliases("fashion"),
      (r: MlflowModelRegistry) => r.fetch("fashion", "3"),
      (r: MlflowModelRegistry) => r.resolveVersion("fashion", "production"),
    ]) {
      const err = await call(registry()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RegistryError);
      const message = (err as RegistryError).message;
      expect(message).toContain("not found in MLflow https://mlflow.example.com:5000/mlflow");
      expect(message).not.toMatch(/s3cr3t/);
    }
  });
});
