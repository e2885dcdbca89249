/**
 * Local stand-ins for the AWS and GCP object stores MLflow's artifacts live in on the cloud stacks
 * (no cloud is reachable from here), from the MLflow venv (test/support/mlflow-requirements.txt):
 *
 *   s3://  moto_server (moto[server]): the S3 API. MLflow's boto3 reaches it through
 *          MLFLOW_S3_ENDPOINT_URL with dummy AWS credentials; objects are private, so the test
 *          reads them back with boto3 too.
 *   gs://  gcp-storage-emulator: the GCS JSON API. google-cloud-storage reaches it through
 *          STORAGE_EMULATOR_HOST (anonymous credentials); the test reads objects over that API.
 *
 * Each holds one bucket, created empty, and reads objects back from the store, not through MLflow.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { MLFLOW_VENV, runPython } from "./mlflow-server.js";
import { freePort } from "./ports.js";

export interface Bucket {
  /** `s3://bucket` or `gs://bucket`. */
  readonly url: string;
  /** What a process needs in its environment to reach the bucket with the cloud's own client. */
  readonly env: Readonly<Record<string, string>>;
  /** Every object's bytes by key. */
  objects(): Promise<Map<string, Buffer>>;
  dispose(): Promise<void>;
}

const BIN = path.join(MLFLOW_VENV, "bin");

async function ok(url: string, init?: RequestInit): Promise<Response> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!response.ok)
    throw new Error(`${init?.method ?? "GET"} ${url}: ${response.status} ${await response.text()}`);
  return response;
}

/** Starts `program` and waits until `ready` answers; the process ends with dispose. */
async function standIn(
  program: string,
  args: string[],
  ready: string,
): Promise<{ child: ChildProcess; log: () => string; stop: () => Promise<void> }> {
  const child = spawn(path.join(BIN, program), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-10_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${program} exited with ${child.exitCode}:\n${output}`);
    const up = await fetch(ready, { signal: AbortSignal.timeout(2000) }).then(
      () => true,
      () => false,
    );
    if (up) return { child, log: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`${program} did not answer ${ready} within 60 s:\n${output}`);
}

/** An S3 bucket on moto_server. */
export async function startS3Bucket(name: string): Promise<Bucket> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await standIn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], `${endpoint}/`);
  try {
    await ok(`${endpoint}/${name}`, { method: "PUT" });
  } catch (err) {
    await server.stop();
    throw err;
  }
  const env = {
    MLFLOW_S3_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "plinth-test",
    AWS_SECRET_ACCESS_KEY: "plinth-test",
    AWS_DEFAULT_REGION: "us-east-1",
  };
  return {
    url: `s3://${name}`,
    env,
    async objects() {
      const code = [
        "import base64, json, os, boto3",
        `s3 = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])`,
        `pages = s3.get_paginator("list_objects_v2").paginate(Bucket=${JSON.stringify(name)})`,
        "keys = [o['Key'] for page in pages for o in page.get('Contents', [])]",
        `print(json.dumps({k: base64.b64encode(s3.get_object(Bucket=${JSON.stringify(name)}, Key=k)["Body"].read()).decode() for k in keys}))`,
      ].join("\n");
      const listed = JSON.parse(await runPython(code, env)) as Record<string, string>;
      return new Map(Object.entries(listed).map(([key, b64]) => [key, Buffer.from(b64, "base64")]));
    },
    dispose: server.stop,
  };
}

/** A GCS bucket on gcp-storage-emulator (in memory). */
export async function startGcsBucket(name: string): Promise<Bucket> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await standIn(
    "gcp-storage-emulator",
    ["start", "--host=127.0.0.1", `--port=${port}`, "--in-memory", `--default-bucket=${name}`],
    `${endpoint}/storage/v1/b/${name}`,
  );
  return {
    url: `gs://${name}`,
    env: { STORAGE_EMULATOR_HOST: endpoint, GOOGLE_CLOUD_PROJECT: "plinth-test" },
    async objects() {
      const listing = (await (await ok(`${endpoint}/storage/v1/b/${name}/o`)).json()) as {
        items?: { name: string }[];
        nextPageToken?: string;
      };
      if (listing.nextPageToken !== undefined) throw new Error("more than one page of objects");
      const objects = new Map<string, Buffer>();
      for (const { name: key } of listing.items ?? []) {
        const url = `${endpoint}/storage/v1/b/${name}/o/${encodeURIComponent(key)}?alt=media`;
        objects.set(key, Buffer.from(await (await ok(url)).arrayBuffer()));
      }
      return objects;
    },
    dispose: server.stop,
  };
}
