/**
 * How the image upload routes (`/predict-image`, `/models/:name/predict-image`, one handler and
 * one set of route options: service/server/prediction-route.ts) refuse a request that is not what
 * the operation takes, through `inject()`:
 *
 * - an unknown query parameter is a 400 `INVALID_REQUEST` naming it, given before the body is read
 *   (whatever the body holds: a multipart body past the service's part limits, a malformed one);
 * - a multipart body whose image is not among the parts the service reads (more fields before
 *   the file part than it takes, or no file part at all) is a 400 `INVALID_REQUEST` saying so,
 *   never a 413 `PAYLOAD_TOO_LARGE` (which means the body's bytes are over `BODY_LIMIT_BYTES`).
 *
 * Regression (API fuzzing, schemathesis seed 20261122): a request with unknown query parameters,
 * a garbled Authorization header and a multipart body of seven fields and no file part was
 * answered 413 `{"message": "reach fields limit"}` by `/models/{name}/predict-image`.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FIXTURE_NAME, rowForClass } from "../inference/fixture-model.js";
import { errorCode, KEY_HEADERS, testServiceForSuite } from "./service-fixture.js";

const svc = testServiceForSuite();

const ROUTES = ["/predict-image", `/models/${FIXTURE_NAME}/predict-image`] as const;
const BOUNDARY = "da32e9fde5e301e8077653465fdc1119";

/** A part of a multipart body: a field (`value`) or, with `filename`, a file. */
interface Part {
  readonly name: string;
  readonly value: string | Buffer;
  readonly filename?: string;
}

function multipartBody(parts: readonly Part[]): Buffer {
  const chunks = parts.flatMap((part) => {
    const disposition =
      `form-data; name="${part.name}"` + (part.filename === undefined ? "" : `; filename="${part.filename}"`);
    const type = part.filename === undefined ? "" : "Content-Type: image/png\r\n";
    return [
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`),
      Buffer.from(part.value),
      Buffer.from("\r\n"),
    ];
  });
  return Buffer.concat([...chunks, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

/** The fuzzer's body: seven odd fields (JSON-ish values, odd and empty names), no file part. */
const FUZZ_FIELDS: readonly Part[] = [
  { name: "\x7f", value: "[-58961]" },
  { name: "\x7f", value: "[1.0710541836286025e+247]" },
  { name: "\x7f", value: "319984299306026" },
  { name: "\x1f\u00c2~\u00a9.", value: "true" },
  { name: "%22(", value: "null" },
  { name: "", value: "{}" },
  { name: "J\u00d3", value: "{}" },
];

function post(url: string, payload: Buffer, headers: Record<string, string> = {}) {
  return svc().app.inject({
    method: "POST",
    url,
    headers: { ...KEY_HEADERS, "content-type": `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
    payload,
  });
}

const png = (cls: number) =>
  sharp(Buffer.from(Uint8Array.from(rowForClass(cls))), { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();

type Response = Awaited<ReturnType<typeof post>>;

function expectRefusal(res: Response, status: number, code: string, message: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(errorCode(res)).toBe(code);
  expect(res.json().error.message).toBe(message);
}

describe.each(ROUTES)("POST %s", (route) => {
  it("refuses the fuzzer's request (unknown query parameters, many multipart fields) with 400 naming the parameter", async () => {
    // As schemathesis sent it: percent-encoded unknown names, an Authorization header that is no
    // credential beside the valid x-api-key, seven fields and no file part.
    const query = "?%C2%B6%C2%A4%14%C2%AF=null&X%C3%A8=%C3%99&X%C3%A8=&invert=true";
    const res = await post(route + query, multipartBody(FUZZ_FIELDS), { authorization: "B" });
    expectRefusal(res, 400, "INVALID_REQUEST", 'unknown query parameter "\u00b6\u00a4\\u0014\u00af"');
  });

  it("refuses an unknown query parameter before reading the body, whatever the body", async () => {
    const message = 'unknown query parameter "foo"';
    const image = multipartBody([{ name: "image", value: await png(3), filename: "x.png" }]);
    // A valid upload: without the parameter it is classified.
    expect((await post(route, image)).statusCode).toBe(200);
    expectRefusal(await post(`${route}?foo=1`, image), 400, "INVALID_REQUEST", message);
    expectRefusal(await post(`${route}?invert=true&foo`, image), 400, "INVALID_REQUEST", message);
    // Bodies that are refused for themselves once read: the query's refusal comes first.
    expectRefusal(await post(`${route}?foo=1`, multipartBody(FUZZ_FIELDS)), 400, "INVALID_REQUEST", message);
    expectRefusal(
      await post(`${route}?foo=1`, Buffer.from("no multipart here"), {
        "content-type": "multipart/form-data",
      }),
      400,
      "INVALID_REQUEST",
      message,
    );
    const raw = await svc().app.inject({
      method: "POST",
      url: `${route}?foo=1`,
      headers: { ...KEY_HEADERS, "content-type": "image/png" },
      payload: await png(3),
    });
    expectRefusal(raw, 400, "INVALID_REQUEST", message);
    // A known parameter with a wrong value keeps its own message.
    expectRefusal(
      await post(`${route}?invert=yes`, image),
      400,
      "INVALID_REQUEST",
      "querystring/invert must be equal to one of the allowed values",
    );
  });

  it("refuses a multipart body with more fields before its file part than it reads with 400, not 413", async () => {
    const noFile = await post(route, multipartBody(FUZZ_FIELDS));
    const tooMany =
      "the multipart body holds more than 4 fields before its file part: send the image as the " +
      "file part `image`, after at most 4 other fields";
    expectRefusal(noFile, 400, "INVALID_REQUEST", tooMany);
    const fields = FUZZ_FIELDS.slice(0, 5);
    const late = await post(
      route,
      multipartBody([...fields, { name: "image", value: await png(5), filename: "x.png" }]),
    );
    expectRefusal(late, 400, "INVALID_REQUEST", tooMany);
    // Four fields before the image are read past; fields after it are not read at all.
    const four = multipartBody([
      ...fields.slice(0, 4),
      { name: "image", value: await png(5), filename: "x.png" },
    ]);
    const fourFirst = await post(route, four);
    expect(fourFirst.statusCode, fourFirst.body).toBe(200);
    expect(fourFirst.json().predictions[0].class_id).toBe(5);
    const after = await post(
      route,
      multipartBody([{ name: "image", value: await png(5), filename: "x.png" }, ...FUZZ_FIELDS]),
    );
    expect(after.statusCode, after.body).toBe(200);
    // No file part among a few fields: the same refusal as before the limits were reached.
    expectRefusal(
      await post(route, multipartBody(fields.slice(0, 2))),
      400,
      "INVALID_REQUEST",
      "the multipart body holds no file part",
    );
  });
});
