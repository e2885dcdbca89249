/**
 * The version of an installed Pulumi SDK package: the plugin version that SDK asks the engine for.
 * One reader for the CLI (@pulumi/pulumi), the Kubernetes provider and the random provider, which
 * reports this version and is installed under it. package.json pins the first two exactly, and
 * scripts/tools/pins.sh builds the CLI and the provider at those pins.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export function installedSdkVersion(name: string): string {
  const manifestPath = createRequire(import.meta.url).resolve(`${name}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { version: string };
  return manifest.version.replace(/^v/, "");
}
