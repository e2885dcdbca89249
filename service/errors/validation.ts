/**
 * The message of a request the route schemas refuse (fastify's `schemaErrorFormatter`): fastify's
 * own (`body/inputs must be array`), except that a member or query parameter the schema does not
 * define (`additionalProperties: false`) is named, as ajv's message does not: the caller learns
 * which one to drop, e.g. `unknown query parameter "verbose"`.
 */
import type { FastifyError, FastifySchemaValidationError } from "fastify";

/** The request part a validation error is about: "body", "querystring", "params" or "headers". */
type SchemaErrorDataVar = NonNullable<FastifyError["validationContext"]>;

/** How much of an unknown name the message repeats (it comes from the request). */
const SHOWN_NAME_LENGTH = 100;

function describe(error: FastifySchemaValidationError, dataVar: SchemaErrorDataVar): string {
  const where = `${dataVar}${error.instancePath}`;
  const name = error.params.additionalProperty;
  if (error.keyword !== "additionalProperties" || typeof name !== "string")
    return `${where} ${error.message}`;
  const shown = JSON.stringify(name.slice(0, SHOWN_NAME_LENGTH));
  if (dataVar === "querystring" && error.instancePath === "") return `unknown query parameter ${shown}`;
  return `${where} must NOT have additional property ${shown}`;
}

/** fastify's `schemaErrorFormatter`: one message for the errors of one request part. */
export function formatValidationErrors(
  errors: FastifySchemaValidationError[],
  dataVar: SchemaErrorDataVar,
): Error {
  return new Error(errors.map((error) => describe(error, dataVar)).join(", "));
}
