/**
 * Side files of a fixture model version, as the training job writes them: a drift baseline of the
 * rows the tests send (rowForClass of every class, so matching traffic shows little drift), a
 * training summary and a data-quality report.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { buildBaseline } from "../../../service/drift/baseline.js";
import {
  FIXTURE_LABELS,
  FIXTURE_NAME,
  rowForClass,
  type FixtureRegistry,
} from "../inference/fixture-model.js";

export interface VersionFiles {
  readonly trainingSummary: unknown;
  readonly qualityReport: unknown;
}

export async function writeVersionFiles(
  r: FixtureRegistry,
  version: string,
  files: VersionFiles,
): Promise<void> {
  const count = 200;
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) pixels.set(rowForClass(i % 10), i * 784);
  const predicted = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const baseline = buildBaseline({ pixels, width: 28, height: 28, count }, predicted, FIXTURE_LABELS);
  const dir = path.join(r.dir, FIXTURE_NAME, version);
  await writeFile(path.join(dir, "baseline.json"), JSON.stringify(baseline));
  await writeFile(path.join(dir, "training_summary.json"), JSON.stringify(files.trainingSummary));
  await writeFile(path.join(dir, "data_quality_report.json"), JSON.stringify(files.qualityReport));
}
