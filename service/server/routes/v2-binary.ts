/**
 * Request side of the binary tensor data extension of the v2 protocol (as tritonclient sends by
 * default): the body is the JSON inference request followed by raw little-endian tensor bytes,
 * `Inference-Header-Content-Length` gives the JSON length, and each binary input declares its
 * `parameters.binary_data_size`. Such bodies often carry no content type, or
 * application/octet-stream, so this parser is installed for those in the v2 scope only. The
 * response is always JSON, which those clients read as well.
 *
 * A binary tensor's declared shape is checked against its byte count before anything is decoded,
 * and its elements become the typed array the model takes, a view of the body where the layout
 * allows (tensor-codec.ts): a UINT8 image is never expanded into a JS array (~8 bytes an element).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import { isV2Datatype, type V2Datatype } from "../../serving/datatypes.js";
import { binaryByteLength, decodeBinaryTensor, type BinaryTensorValues } from "../../serving/tensor-codec.js";

const HEADER_LENGTH = "inference-header-content-length";

/**
 * Where an input's decoded binary values wait while the route's JSON schema validates the body:
 * the schema types `data` as an array, which a typed array is not (ajv: Array.isArray), so `data`
 * holds an empty array until validation has passed, then the values (see {@link acceptBinaryTensors}).
 */
const DECODED = Symbol("decoded binary tensor");

interface BinaryInput {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  data?: unknown;
  parameters?: { binary_data_size?: unknown } & Record<string, unknown>;
  [DECODED]?: BinaryTensorValues;
}

/** The input as refusals name it: by its name when it has one, else by its index. */
function inputSite(input: BinaryInput, index: number): string {
  return typeof input.name === "string"
    ? `input ${JSON.stringify(input.name.slice(0, 64))}`
    : `inputs[${index}]`;
}

/**
 * The element count the input's shape declares, checked against its binary size before a byte is
 * decoded: a fixed-size datatype needs exactly count x element bytes, BYTES at least 4 a element.
 */
function checkDeclaredSize(input: BinaryInput, datatype: V2Datatype, size: number, where: string): void {
  const { shape } = input;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ApiError(ErrorCode.INVALID_SHAPE, `${where}: shape must be a list of non-negative integers`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const needed = binaryByteLength(datatype, count);
  const fits = datatype === "BYTES" ? size >= needed : size === needed;
  if (!fits) {
    const declared = `shape [${shape.join(",")}] holds ${count} ${datatype} values`;
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      datatype === "BYTES"
        ? `${where}: ${declared}, at least ${needed} bytes; binary_data_size is ${size}`
        : `${where}: ${declared} (${needed} bytes); binary_data_size is ${size}`,
    );
  }
}

/** Checks `bytes` of a binary input against its declared shape, then decodes them. */
function decodeTensor(bytes: Buffer, input: BinaryInput, index: number): BinaryTensorValues {
  const where = inputSite(input, index);
  const datatype = String(input.datatype);
  if (!isV2Datatype(datatype)) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `${where}: binary data of datatype ${datatype.slice(0, 16)}, which is not a protocol datatype`,
    );
  }
  checkDeclaredSize(input, datatype, bytes.length, where);
  const values = decodeBinaryTensor(bytes, datatype, where);
  // BYTES elements vary in length: their count is known only once read.
  const count = (input.shape as number[]).reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `${where}: shape [${(input.shape as number[]).join(",")}] holds ${count} values, binary data has ${values.length}`,
    );
  }
  return values;
}

/**
 * Splits the JSON header (`headerLength` bytes) from the binary tail and decodes each binary
 * tensor, set aside for its `data` once the body has been validated (as {@link restoreBinaryTensors}
 * does).
 */
export function attachBinaryTensors(headerLength: number, body: Buffer, parsed: unknown): unknown {
  const inputs = (parsed as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs)) return parsed; // the schema reports it
  let offset = headerLength;
  for (const [index, input] of (inputs as BinaryInput[]).entries()) {
    const size = input?.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (!Number.isSafeInteger(size) || (size as number) < 0 || offset + (size as number) > body.length) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `inputs[${index}]: binary_data_size ${String(size)} exceeds the body`,
      );
    }
    input[DECODED] = decodeTensor(body.subarray(offset, offset + (size as number)), input, index);
    input.data = [];
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

/** Moves each decoded binary tensor into its input's `data` (the body has passed validation). */
export function restoreBinaryTensors(body: unknown): void {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) return;
  for (const input of inputs as (BinaryInput | null)[]) {
    const values = input?.[DECODED];
    if (values === undefined) continue;
    input!.data = values;
    delete input![DECODED];
  }
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
    // Digits only: Number() would also take "", "0x10" and "1e3".
    const jsonLength =
      header === undefined
        ? body.length
        : typeof header === "string" && /^\d{1,15}$/.test(header)
          ? Number(header)
          : NaN;
    if (!Number.isSafeInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
      done(
        new ApiError(ErrorCode.INVALID_REQUEST, `${HEADER_LENGTH} must be an integer within the body length`),
      );
      return;
    }
    json(request, body.subarray(0, jsonLength).toString("utf8"), (err, parsed) => {
      if (err !== null) return done(err);
      try {
        done(null, attachBinaryTensors(jsonLength, body, parsed));
      } catch (e) {
        done(e as Error);
      }
    });
  };
  scope.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, parse);
  scope.addContentTypeParser("*", { parseAs: "buffer" }, parse);
  // preHandler runs after the schema validated the body, before the handler reads it.
  scope.addHook("preHandler", async (request) => restoreBinaryTensors(request.body));
}
