/** The Prometheus client against a local HTTP server that answers as Prometheus does. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusClient, PrometheusError, sampleValue } from "../../infra/promote/prometheus.js";

const vector = (...values: string[]) => ({
  status: "success",
  data: { resultType: "vector", result: values.map((v) => ({ metric: {}, value: [1700000000, v] })) },
});

/** Query text -> [HTTP status, body]. */
const answers: Record<string, [number, unknown]> = {
  one: [200, vector("0.25")],
  nan: [200, vector("NaN")],
  inf: [200, vector("+Inf")],
  empty: [200, vector()],
  two: [200, vector("1", "2")],
  scalar: [200, { status: "success", data: { resultType: "scalar", result: [1700000000, "3"] } }],
  bad: [400, { status: "error", errorType: "bad_data", error: 'parse error at char 4: unexpected "}"' }],
  html: [502, "<html>bad gateway</html>"],
};

let server: Server;
let url: string;
let lastAuthorization: string | undefined;

async function body(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text;
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    lastAuthorization = request.headers.authorization;
    const query = new URLSearchParams(await body(request)).get("query") ?? "";
    const [status, payload] =
      request.method === "POST" && request.url === "/prom/api/v1/query"
        ? (answers[query] ?? [404, {}])
        : [404, {}];
    response.writeHead(status, { "content-type": "application/json" });
    response.end(typeof payload === "string" ? payload : JSON.stringify(payload));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe("scalar", () => {
  it("returns the one sample of a vector or scalar, and sends the bearer token", async () => {
    const client = new PrometheusClient({ url, bearerToken: "t0ken" });
    expect(await client.scalar("one")).toBe(0.25);
    expect(lastAuthorization).toBe("Bearer t0ken");
    expect(await client.scalar("scalar")).toBe(3);
  });

  it.each(["nan", "inf", "empty", "two"])("has no value for %s", async (query) => {
    expect(await new PrometheusClient({ url }).scalar(query)).toBeUndefined();
  });

  it("reports a refused query with Prometheus' reason and the query", async () => {
    await expect(new PrometheusClient({ url }).scalar("bad")).rejects.toThrow(
      new PrometheusError('Prometheus refused the query (parse error at char 4: unexpected "}"): bad'),
    );
  });

  it("reports a non-Prometheus answer by its HTTP status", async () => {
    await expect(new PrometheusClient({ url }).scalar("html")).rejects.toThrow(
      "Prometheus refused the query (HTTP 502): html",
    );
  });

  it("names PROMETHEUS_URL when the server cannot be reached", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(new PrometheusClient({ url: `http://127.0.0.1:${port}` }).scalar("one")).rejects.toThrow(
      new RegExp(`^PROMETHEUS_URL http://127\\.0\\.0\\.1:${port}/: `),
    );
  });

  it.each(["prometheus:9090", "ftp://prometheus"])("refuses PROMETHEUS_URL %s", (bad) => {
    expect(() => new PrometheusClient({ url: bad })).toThrow(
      `PROMETHEUS_URL: expected an http(s) URL, got "${bad}"`,
    );
  });
});

describe("sampleValue", () => {
  it("ignores matrices and non-numeric text", () => {
    expect(sampleValue({ resultType: "matrix", result: [] })).toBeUndefined();
    expect(sampleValue({ resultType: "vector", result: [{ value: [0, "abc"] }] })).toBeUndefined();
  });
});
