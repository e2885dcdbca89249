/**
 * CI-sized training: the default CNN, 10,000 training samples, one pass, with worker threads,
 * through the command line, evaluated on the full 10k test set. A broken trainer (gradients,
 * optimiser, export, data loading) cannot reach the floor.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it, vi } from "vitest";
import { main } from "../../../service/train/main.js";

const root = mkdtempSync(path.join(os.tmpdir(), "plinth-ci-train-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it(
  "reaches accuracy >= 0.80 on the test set after one pass over 10k samples",
  { timeout: 600_000 },
  async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const code = await main(["--limit", "10000", "--epochs", "1", "--no-register", "--out", root]);
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(root, "training_summary.json"), "utf8"));
    expect(summary.parameters).toMatchObject({
      architectureName: "cnn",
      trainSamples: 10000,
      testSamples: 10000,
    });
    expect(summary.test.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(summary.test.macroF1).toBeGreaterThanOrEqual(0.78);
  },
);
