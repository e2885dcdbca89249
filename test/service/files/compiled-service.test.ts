/**
 * The compiled service (dist/, built by the suite's global setup as the image's build stage does):
 * its files found from the package root, and its inference worker thread loaded as JavaScript.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMAGE_PROGRAMS } from "../../../service/contract/image-commands.js";
import { packageRootAbove } from "../../../service/files/package-root.js";
import { LocalRegistry } from "../../../service/registry/local.js";
import { startServiceProcess, REPO_ROOT, type ServiceProcess } from "../../support/service-process.js";
import { API_KEY } from "../server/service-fixture.js";

describe("packageRootAbove", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "plinth-root-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("finds the nearest folder with a package.json, however deep the module sits", () => {
    mkdirSync(path.join(tmp, "pkg/dist/service/files"), { recursive: true });
    writeFileSync(path.join(tmp, "pkg/package.json"), "{}");
    expect(packageRootAbove(path.join(tmp, "pkg/dist/service/files/package-root.js"))).toBe(
      path.join(tmp, "pkg"),
    );
    expect(packageRootAbove(path.join(tmp, "pkg/main.js"))).toBe(path.join(tmp, "pkg"));
  });

  it("is this repository for the service's own modules", () => {
    expect(packageRootAbove(path.join(REPO_ROOT, "dist/service/files/package-root.js"))).toBe(
      REPO_ROOT.replace(/\/$/, ""),
    );
  });

  it("says which file had no package.json above it", () => {
    expect(() => packageRootAbove("/no-such-root/service/files/x.js")).toThrow(
      "no package.json in any folder above /no-such-root/service/files/x.js",
    );
  });
});

describe("the compiled service", () => {
  const png = readFileSync(path.join(REPO_ROOT, "samples/fashion-mnist/0000-ankle-boot.png"));
  let offloaded: ServiceProcess;
  let inline: ServiceProcess;

  const predict = async (service: ServiceProcess) => {
    const response = await fetch(`${service.url}/predict-image`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "image/png" },
      body: png,
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { predictions: { class_id: number; probabilities: number[] }[] })
      .predictions[0]!;
  };
  const warmup = async (service: ServiceProcess) => {
    const response = await fetch(`${service.url}/metadata`, { headers: { "x-api-key": API_KEY } });
    return ((await response.json()) as { warmup: { offloaded: boolean } }).warmup;
  };

  beforeAll(async () => {
    const env = { API_KEYS: `tester:${API_KEY}` };
    [offloaded, inline] = await Promise.all([
      startServiceProcess({ ...env, INFERENCE_OFFLOAD: "always" }),
      startServiceProcess({ ...env, INFERENCE_OFFLOAD: "never" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([offloaded?.stop(), inline?.stop()]);
  });

  it("runs inference in its worker thread, loaded from the compiled ort-worker.js, with the same answers", async () => {
    expect(await warmup(offloaded)).toMatchObject({ offloaded: true });
    expect(await warmup(inline)).toMatchObject({ offloaded: false });
    const [fromWorker, fromLoop] = await Promise.all([predict(offloaded), predict(inline)]);
    expect(fromWorker.class_id).toBe(9);
    expect(fromWorker.class_id).toBe(fromLoop.class_id);
    fromWorker.probabilities.forEach((p, i) => expect(p).toBeCloseTo(fromLoop.probabilities[i]!, 6));
  });

  it("serves the admin panel's assets from the package's service/admin", async () => {
    const response = await fetch(`${inline.url}/admin/panel.css`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(readFileSync(path.join(REPO_ROOT, "service/admin/panel.css"), "utf8"));
  });
});

describe("the compiled training job (the retrain CronJob's program)", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "plinth-compiled-train-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("trains with its gradient workers loaded from the compiled worker.js and registers a challenger", async () => {
    const args = [IMAGE_PROGRAMS.train, "--limit", "600", "--epochs", "1", "--arch", "mlp", "--workers", "2"];
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [...args, "--registry", path.join(tmp, "registry"), "--out", path.join(tmp, "out")],
        { cwd: REPO_ROOT, env: { PATH: process.env.PATH }, timeout: 120_000 },
        (err, _stdout, stderr) => resolve({ code: err === null ? 0 : (err.code as number | null), stderr }),
      );
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const registry = new LocalRegistry(path.join(tmp, "registry"));
    expect(await registry.getAliases("fashion-classifier")).toEqual({ challenger: "1" });
    const summary = JSON.parse(readFileSync(path.join(tmp, "out", "training_summary.json"), "utf8"));
    expect(summary.parameters).toMatchObject({ trainSamples: 600, architectureName: "mlp", workers: 2 });
  }, 180_000);
});
