/** A file's text, or undefined when it does not exist (any other failure is thrown). */
import { readFile } from "node:fs/promises";

export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
