/**
 * The random plugin version: the @pulumi/random version the repository installs, which is the
 * version its SDK asks the engine for, so the provider reports it and is installed under it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export function randomSdkVersion(): string {
  const manifestPath = createRequire(import.meta.url).resolve("@pulumi/random/package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { version: string };
  return manifest.version.replace(/^v/, "");
}
