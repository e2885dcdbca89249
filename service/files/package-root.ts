/**
 * The package's root folder: the nearest one above this module with a package.json. The same
 * whether the code runs from its TypeScript source (service/files/) or compiled (dist/service/files/,
 * as the image runs it), so the files found from it (the admin panel's assets, models/, samples/)
 * do not depend on how deep the running module sits.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export function packageRootAbove(file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in any folder above ${file}`);
  }
}

export const PACKAGE_ROOT = packageRootAbove(fileURLToPath(import.meta.url));
