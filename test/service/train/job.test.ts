import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { parseBaseline } from "../../../service/drift/baseline.js";
import { IMAGE_FEATURE_NAMES } from "../../../service/drift/features.js";
import { readModelMetadata } from "../../../service/model/onnx-format.js";
import { LocalRegistry } from "../../../service/registry/local.js";
import { main, parseTrainArgs } from "../../../service/train/main.js";

const root = mkdtempSync(path.join(os.tmpdir(), "plinth-train-job-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let logs: string[];
let errors: string[];
beforeEach(() => {
  logs = [];
  errors = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void logs.push(line));
  vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
});
afterEach(() => vi.restoreAllMocks());

const dirs = (name: string) => [
  "--registry",
  path.join(root, name, "registry"),
  "--out",
  path.join(root, name, "out"),
];
const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8"));
/** A one-pass MLP on the first `limit` samples, in this thread: seconds, not minutes. */
const quick = (limit: number) => ["--limit", `${limit}`, "--epochs", "1", "--arch", "mlp", "--workers", "0"];

describe("npm run train (quick, on a small subset)", () => {
  it("trains, evaluates, exports ONNX, writes baseline/summary/report and registers a challenger", async () => {
    const code = await main([...quick(1000), "--seed", "3", ...dirs("quick")]);
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    const registry = new LocalRegistry(path.join(root, "quick", "registry"));
    expect(await registry.getAliases("fashion-classifier")).toEqual({ challenger: "1" });
    const resolved = await registry.resolve("fashion-classifier", "challenger");
    expect(existsSync(path.join(resolved.dir, "baseline.json"))).toBe(true);

    const summary = readJson(path.join(resolved.dir, "training_summary.json"));
    expect(summary.parameters).toMatchObject({
      epochs: 1,
      seed: 3,
      trainSamples: 1000,
      testSamples: 10000,
      architectureName: "mlp",
    });
    expect(summary.quality).toMatchObject({ passed: true, skipped: false });
    expect(summary.test.accuracy).toBeGreaterThan(0.6);
    expect(summary.test.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(10000);
    expect(summary.test.perClass).toHaveLength(10);
    expect(summary.dataset.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.durationSeconds).toBeGreaterThan(0);

    const bytes = new Uint8Array(readFileSync(resolved.modelPath));
    const meta = readModelMetadata(bytes, resolved.modelPath);
    expect(meta.training).toMatchObject({
      seed: 3,
      datasetSha256: summary.dataset.sha256,
      metrics: { accuracy: summary.test.accuracy },
    });
    expect(meta.output.kind).toBe("probabilities");
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({
      input: new ort.Tensor("float32", new Float32Array(2 * 784), [2, 1, 28, 28]),
    });
    expect(out.probabilities!.dims).toEqual([2, 10]);

    const baseline = parseBaseline(
      readFileSync(path.join(resolved.dir, "baseline.json"), "utf8"),
      "baseline.json",
    );
    expect(baseline.features.map((f) => f.name)).toEqual(IMAGE_FEATURE_NAMES);
    expect(baseline.featureSamples).toBe(1000);
    expect(baseline.predictions.samples).toBe(10000);
    // Files in the output folder are the registered ones.
    expect(readFileSync(path.join(root, "quick", "out", "model.onnx")).equals(Buffer.from(bytes))).toBe(true);
  });

  it("stops at a failed quality gate with exit 3, naming the check, and writes the report", async () => {
    const code = await main(["--limit", "600", "--min-per-label", "100", ...dirs("gate")]);
    expect(code).toBe(3);
    expect(errors.join("\n")).toMatch(
      /data quality gate failed .*\n {2}- min-per-label: below the minimum of 100 samples per label: "T-shirt\/top" \(\d+\)/,
    );
    const report = readJson(path.join(root, "gate", "out", "data_quality_report.json"));
    expect(report.passed).toBe(false);
    expect(report.checks.find((c: { name: string }) => c.name === "min-per-label").status).toBe("fail");
    expect(existsSync(path.join(root, "gate", "registry"))).toBe(false);
  });

  it("trains anyway with --skip-quality-checks and records it", async () => {
    const code = await main([...quick(300), "--skip-quality-checks", "--no-register", ...dirs("skip")]);
    expect(code).toBe(0);
    const summary = readJson(path.join(root, "skip", "out", "training_summary.json"));
    expect(summary.quality).toMatchObject({ passed: false, skipped: true });
    expect(logs.join("\n")).toMatch(/--skip-quality-checks was given/);
    expect(existsSync(path.join(root, "skip", "registry"))).toBe(false);
  });

  it("names the Debian package and --data when the dataset is missing (exit 1)", async () => {
    const code = await main(["--data", path.join(root, "nowhere"), ...dirs("missing")]);
    expect(code).toBe(1);
    expect(errors.join("\n")).toMatch(
      /dataset not found: --data .*nowhere: no such directory\. Install the Debian package dataset-fashion-mnist/,
    );
  });
});

describe("npm run train on a labelled image folder", () => {
  const folder = path.join(root, "images");
  beforeAll(async () => {
    // Two visually distinct classes: bright left half vs bright right half, with per-image noise.
    for (const [label, bright] of [
      ["left", (x: number) => x < 4],
      ["right", (x: number) => x >= 4],
    ] as const) {
      mkdirSync(path.join(folder, label), { recursive: true });
      for (let i = 0; i < 40; i++) {
        const px = Buffer.from(
          Array.from({ length: 64 }, (_, p) => (bright(p % 8) ? 200 : 20) + ((p * 31 + i * 17) % 40)),
        );
        await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
          .png()
          .toFile(path.join(folder, label, `${i}.png`));
      }
    }
    writeFileSync(path.join(folder, "left", "broken.png"), "not an image at all");
  });
  const folderArgs = [
    "--data",
    folder,
    "--image-size",
    "8",
    "--arch",
    "mlp",
    "--epochs",
    "3",
    "--workers",
    "0",
  ];
  const gate = ["--min-samples", "20", "--min-per-label", "10"];

  it("reports and skips an unreadable image, and trains on the rest", async () => {
    const code = await main([...folderArgs, ...gate, ...dirs("folder")]);
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(logs.join("\n")).toContain(`skipped unreadable image ${path.join(folder, "left", "broken.png")}`);
    const summary = readJson(path.join(root, "folder", "out", "training_summary.json"));
    expect(summary.dataset.skipped).toEqual([
      { file: path.join(folder, "left", "broken.png"), reason: "not a PNG, JPEG or WebP image" },
    ]);
    expect(summary.parameters.trainSamples + summary.parameters.testSamples).toBe(80);
    expect(summary.test.accuracy).toBe(1);
    const meta = readModelMetadata(
      new Uint8Array(readFileSync(path.join(root, "folder", "out", "model.onnx"))),
      "m",
    );
    expect(meta.labels).toEqual(["left", "right"]);
    expect(meta.input.shape).toEqual([1, 8, 8]);
  });

  it("stops with exit 1 naming the file under --on-bad-image fail", async () => {
    const code = await main([...folderArgs, ...gate, "--on-bad-image", "fail", ...dirs("folder-fail")]);
    expect(code).toBe(1);
    expect(errors.join("\n")).toContain(
      `unreadable image ${path.join(folder, "left", "broken.png")}: not a PNG, JPEG or WebP image`,
    );
  });
});

describe("parseTrainArgs", () => {
  const log = () => {};
  it("applies defaults", () => {
    const opts = parseTrainArgs([], log)!;
    expect(opts).toMatchObject({
      name: "fashion-classifier",
      alias: "challenger",
      architecture: "cnn",
      register: true,
      dataDir: undefined,
      limit: undefined,
    });
    expect(opts.train).toMatchObject({ epochs: 4, batchSize: 64, seed: 42, shards: 2 });
  });

  it("rejects bad values with exit 2 and a message naming the flag", async () => {
    expect(await main(["--epochs", "0"])).toBe(2);
    expect(errors[0]).toBe('train: --epochs must be an integer >= 1, got "0"\nRun with --help for usage.');
    expect(() => parseTrainArgs(["--arch", "vgg"], log)).toThrow(
      '--arch must be one of cnn, cnn-small, mlp, got "vgg"',
    );
    expect(() => parseTrainArgs(["--on-bad-image", "ignore"], log)).toThrow(
      '--on-bad-image must be skip or fail, got "ignore"',
    );
    expect(() => parseTrainArgs(["--alias", "x", "--no-alias"], log)).toThrow(
      "--alias and --no-alias exclude each other",
    );
    expect(() => parseTrainArgs(["--bogus"], log)).toThrow(/Unknown option '--bogus'/);
  });

  it("prints help with exit 0", async () => {
    expect(await main(["--help"])).toBe(0);
    expect(logs[0]).toMatch(/^Usage: npm run train -- \[options\]/);
    expect(logs[0]).toContain("--skip-quality-checks");
  });
});
