/**
 * The v2 infer requests of the Open Inference Protocol comparison: one image's raw pixels (0-255,
 * FP32, [rows,1,28,28]), either in the JSON body's `data`, or with the protocol's binary tensor data
 * extension: the JSON header (the input with `parameters.binary_data_size`, no `data`), then the
 * tensor as raw little-endian FP32, the header's length in `Inference-Header-Content-Length`.
 */

export const OIP_BODIES = ["json", "binary"] as const;
export type OipBody = (typeof OIP_BODIES)[number];

export const BODY_TITLES: Record<OipBody, string> = {
  json: "JSON body",
  binary: "binary tensor body",
};

/** A request body and the headers that describe it. */
export interface OipRequest {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export const INFERENCE_HEADER_LENGTH = "inference-header-content-length";

function repeated(pixels: readonly number[], rows: number): number[] {
  const data: number[] = [];
  for (let r = 0; r < rows; r++) data.push(...pixels);
  return data;
}

/** The tensor's header fields: its name, its shape for `rows` images, FP32. */
function tensor(inputName: string, rows: number) {
  return { name: inputName, shape: [rows, 1, 28, 28], datatype: "FP32" };
}

/** `data` (`rows` images' raw pixels, row after row) in the JSON body's `data`. */
function jsonRequest(inputName: string, data: readonly number[], rows: number): OipRequest {
  return {
    body: Buffer.from(JSON.stringify({ inputs: [{ ...tensor(inputName, rows), data }] })),
    headers: { "content-type": "application/json" },
  };
}

/** `data` with the binary tensor data extension (as tritonclient sends it). */
function binaryRequest(inputName: string, data: readonly number[], rows: number): OipRequest {
  const raw = Buffer.alloc(data.length * 4);
  data.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ ...tensor(inputName, rows), parameters: { binary_data_size: raw.length } }],
    }),
  );
  return {
    body: Buffer.concat([header, raw]),
    headers: {
      "content-type": "application/octet-stream",
      [INFERENCE_HEADER_LENGTH]: String(header.length),
    },
  };
}

/** The request of `kind` for `data`: `rows` images' raw pixels (0-255), row after row. */
export function oipTensorRequest(
  kind: OipBody,
  inputName: string,
  data: readonly number[],
  rows: number,
): OipRequest {
  if (data.length !== rows * 784) throw new RangeError(`${data.length} pixels for ${rows} 28x28 rows`);
  return kind === "json" ? jsonRequest(inputName, data, rows) : binaryRequest(inputName, data, rows);
}

/** The request of `kind` for one image's `pixels`, `rows` times. */
export function oipRequest(
  kind: OipBody,
  inputName: string,
  pixels: readonly number[],
  rows: number,
): OipRequest {
  return oipTensorRequest(kind, inputName, repeated(pixels, rows), rows);
}
