/**
 * What a model name may be, wherever one is set (MODEL_NAME, MODEL_REPOSITORY) or read from a path
 * (`/models/<name>/...`, `/v2/models/<name>/...`): part of the contract, so the platform can check a
 * stack's model names with the service's own rule.
 */

/** A model name as MODEL_NAME and MODEL_REPOSITORY accept it: lower case, digits, `.`, `_` and `-`. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;
