/**
 * `npm run render -- <staging|production> [--cloud aws|gcp|existing]`: runs the program under the
 * mock runtime (no credentials, no engine) and writes every Kubernetes object as YAML, one file
 * each, plus a JSON summary of the cloud resources and the stack outputs, to out/<stack>[-<cloud>]/.
 * Secret values are written as "[secret]". Reviewers diff these folders between branches.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { cloudResourceSummary, kubernetesObjects } from "./objects.js";
import { renderStackInProcess } from "./run.js";
import type { Cloud, StackName } from "./types.js";

const STACKS: readonly string[] = ["staging", "production"];
const CLOUDS: readonly string[] = ["aws", "gcp", "existing"];
const OUT = fileURLToPath(new URL("../../out/", import.meta.url));

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run render -- <staging|production> [--cloud aws|gcp|existing]\n`,
  );
  process.exit(2);
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { cloud: { type: "string" } } });
const [stack] = positionals;
if (!stack || !STACKS.includes(stack) || positionals.length > 1)
  usage(`expected one stack name, got ${JSON.stringify(positionals)}`);
if (values.cloud !== undefined && !CLOUDS.includes(values.cloud))
  usage(`--cloud must be aws, gcp or existing, got ${values.cloud}`);

try {
  const rendered = await renderStackInProcess({
    stack: stack as StackName,
    ...(values.cloud ? { cloud: values.cloud as Cloud } : {}),
  });
  const dir = join(OUT, values.cloud ? `${stack}-${values.cloud}` : stack);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "kubernetes"), { recursive: true });
  const objects = kubernetesObjects(rendered, { maskSecrets: true });
  for (const object of objects) {
    const file = [object.kind, object.metadata.namespace ?? "cluster", object.metadata.name ?? "unnamed"]
      .join("_")
      .toLowerCase();
    writeFileSync(join(dir, "kubernetes", `${file}.yaml`), stringify(object, { sortMapEntries: false }));
  }
  const summary = {
    project: rendered.project,
    stack: rendered.stack,
    cloud: rendered.cloud,
    resources: cloudResourceSummary(rendered),
  };
  writeFileSync(join(dir, "cloud-resources.json"), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(dir, "outputs.json"), `${JSON.stringify(rendered.outputs, null, 2)}\n`);
  process.stdout.write(
    `wrote ${objects.length} Kubernetes objects and ${summary.resources.length} other resources to ${dir}\n`,
  );
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
