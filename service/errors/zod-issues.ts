/**
 * One way to say what a zod schema refused in a file plinth reads (model configuration, model
 * metadata, drift baseline): every issue, each prefixed with the path of the field it concerns.
 * Imports nothing at run time, so training and the serving core may both use it.
 */
import type { z } from "zod";

/** `input.image.std.0` for a nested field, `(root)` for the value itself. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(root)" : path.map(String).join(".");
}

/** `path: message` for every issue, joined with `; `, e.g. `task: Invalid option; labels: ...`. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issuePath(issue.path)}: ${issue.message}`).join("; ");
}
