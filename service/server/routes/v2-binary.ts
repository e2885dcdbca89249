/**
 * Request side of the binary tensor data extension of the v2 protocol (as tritonclient sends by
 * default): the body is the JSON inference request followed by raw little-endian tensor bytes,
 * `Inference-Header-Content-Length` gives the JSON length, and each binary input declares its
 * `parameters.binary_data_size`. Such bodies often carry no content type, or
 * application/octet-stream, so this parser is installed for those in the v2 scope only. The
 * response is always JSON, which those clients read as well.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import { isV2Datatype } from "../../serving/datatypes.js";
import { decodeBinaryTensor } from "../../serving/tensor-codec.js";

const HEADER_LENGTH = "inference-header-content-length";

interface BinaryInput {
  name?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: { binary_data_size?: unknown } & Record<string, unknown>;
}

/** Decodes `bytes` of a binary input into the values its JSON form would hold. */
function decodeTensor(bytes: Buffer, input: BinaryInput, index: number): unknown[] {
  const where =
    typeof input.name === "string" ? `input ${JSON.stringify(input.name.slice(0, 64))}` : `inputs[${index}]`;
  const datatype = String(input.datatype);
  if (!isV2Datatype(datatype)) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `${where}: binary data of datatype ${datatype.slice(0, 16)}, which is not a protocol datatype`,
    );
  }
  return decodeBinaryTensor(bytes, datatype, where);
}

/** Splits the JSON header from the binary tail and moves each binary tensor into its `data`. */
function attachBinaryTensors(request: FastifyRequest, body: Buffer, parsed: unknown): unknown {
  const inputs = (parsed as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs)) return parsed; // the schema reports it
  const header = request.headers[HEADER_LENGTH];
  let offset = header === undefined ? body.length : Number(header);
  for (const [index, input] of (inputs as BinaryInput[]).entries()) {
    const size = input?.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (!Number.isSafeInteger(size) || (size as number) < 0 || offset + (size as number) > body.length) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `inputs[${index}]: binary_data_size ${String(size)} exceeds the body`,
      );
    }
    input.data = decodeTensor(body.subarray(offset, offset + (size as number)), input, index);
    delete input.parameters!.binary_data_size;
    offset += size as number;
  }
  if (offset !== body.length) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `${body.length - offset} bytes of binary data not claimed by any input`,
    );
  }
  return parsed;
}

/** Installs the parser on `scope` (the v2 inference routes). */
export function acceptBinaryTensors(scope: FastifyInstance): void {
  const json = scope.getDefaultJsonParser("error", "error");
  const parse = (
    request: FastifyRequest,
    body: Buffer,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    const header = request.headers[HEADER_LENGTH];
    const jsonLength = header === undefined ? body.length : Number(header);
    if (!Number.isSafeInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
      done(
        new ApiError(ErrorCode.INVALID_REQUEST, `${HEADER_LENGTH} must be an integer within the body length`),
      );
      return;
    }
    json(request, body.subarray(0, jsonLength).toString("utf8"), (err, parsed) => {
      if (err !== null) return done(err);
      try {
        done(null, attachBinaryTensors(request, body, parsed));
      } catch (e) {
        done(e as Error);
      }
    });
  };
  scope.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, parse);
  scope.addContentTypeParser("*", { parseAs: "buffer" }, parse);
}
