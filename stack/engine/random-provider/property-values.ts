/**
 * How property values look on the provider wire once @pulumi/pulumi's provider server has turned the
 * gRPC Struct into JavaScript: secrets are objects tagged with Pulumi's secret signature, and values
 * not known yet (during preview) are a fixed sentinel string.
 */
import { isDeepStrictEqual } from "node:util";

/** The special-signature key and the secret signature of Pulumi's property value encoding. */
export const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";
/** The value the engine sends for an input whose value is not known yet. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

interface SecretValue {
  readonly [SIGNATURE_KEY]: typeof SECRET_SIGNATURE;
  readonly value: unknown;
}

export function secret(value: unknown): SecretValue {
  return { [SIGNATURE_KEY]: SECRET_SIGNATURE, value };
}

export function isSecret(value: unknown): value is SecretValue {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SIGNATURE_KEY] === SECRET_SIGNATURE
  );
}

/** The plain value, with secret wrappers removed at every depth. */
export function reveal(value: unknown): unknown {
  if (isSecret(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, reveal(item)]));
  }
  return value;
}

export function isUnknown(value: unknown): boolean {
  return reveal(value) === UNKNOWN_VALUE;
}

/** Equal once secrets are revealed: making an input secret does not change the resource. */
export function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(reveal(a), reveal(b));
}
