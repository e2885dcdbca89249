/**
 * How the operator routes are documented: the bare ones in the OpenAPI document, saying they are
 * also served under the process's model name; the copies under `/models/<MODEL_NAME>` left out of
 * it (the same operations, at a path that names one process's model).
 */

/** An operator route plugin's option: whether its routes are the documented (bare) ones. */
export interface Documented {
  readonly documented: boolean;
}

/** The sentence the bare operator route `path` adds to its description. */
export const ALSO_BY_NAME = (path: string): string =>
  ` Also served, with the same access, as \`/models/<MODEL_NAME>${path}\` (the process's own model; ` +
  "not listed separately here), which the platform publishes behind oauth2-proxy for each model.";
