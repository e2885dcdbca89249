import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMetricsServer, type MetricsServer } from "../../../service/metrics/server.js";
import { FIXTURE_LABELS, rowForClass } from "../inference/fixture-model.js";
import { KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

let svc: TestService;
let server: MetricsServer;
beforeAll(async () => {
  svc = await startTestService({ HTTP_LATENCY_BUCKETS_SECONDS: "0.01,0.1,1" });
  server = await startMetricsServer(svc.metrics.registry, "127.0.0.1", 0);
});
afterAll(async () => {
  await server.close();
  await svc.close();
});

async function value(name: string, labels: Record<string, string>): Promise<number> {
  // Histogram series (`_sum`, `_count`) are values of the base metric, named by `metricName`.
  const samples = (await svc.metrics.registry.getMetricsAsJSON()).flatMap((m) =>
    m.values.map((v) => ({ ...v, name: (v as { metricName?: string }).metricName ?? m.name })),
  );
  return samples
    .filter((v) => v.name === name)
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
    )
    .reduce((sum, v) => sum + v.value, 0);
}

const predict = (classes: number[]) =>
  svc.app.inject({
    method: "POST",
    url: "/predict",
    headers: KEY_HEADERS,
    payload: { inputs: classes.map(rowForClass) },
  });

describe("service metrics", () => {
  it("counts HTTP requests by route template, method, status and serving version", async () => {
    const labels = {
      route: "/predict",
      method: "POST",
      status_code: "200",
      variant: "stable",
      model_version: "1",
    };
    const before = await value("plinth_http_requests_total", labels);
    await predict([1]);
    await predict([2]);
    expect(await value("plinth_http_requests_total", labels)).toBe(before + 2);
    const bad = { route: "/predict", method: "POST", status_code: "400" };
    const badBefore = await value("plinth_http_requests_total", bad);
    await svc.app.inject({ method: "POST", url: "/predict", headers: KEY_HEADERS, payload: { inputs: [] } });
    expect(await value("plinth_http_requests_total", bad)).toBe(badBefore + 1);
  });

  it("counts alternating label sets each under its own (the hook remembers only the last)", async () => {
    const ok = { route: "/predict", method: "POST", status_code: "200" };
    const bad = { route: "/predict", method: "POST", status_code: "400" };
    const [okBefore, badBefore] = [
      await value("plinth_http_requests_total", ok),
      await value("plinth_http_requests_total", bad),
    ];
    const refused = () =>
      svc.app.inject({ method: "POST", url: "/predict", headers: KEY_HEADERS, payload: { inputs: [] } });
    await predict([1]);
    await refused();
    await predict([2]);
    await refused();
    await predict([3]);
    expect(await value("plinth_http_requests_total", ok)).toBe(okBefore + 3);
    expect(await value("plinth_http_requests_total", bad)).toBe(badBefore + 2);
  });

  it("labels unmatched paths with one fixed route, never the raw URL", async () => {
    await svc.app.inject({ method: "GET", url: "/a-random-path-123", headers: KEY_HEADERS });
    await svc.app.inject({ method: "GET", url: "/another/random/path", headers: KEY_HEADERS });
    const text = await svc.metrics.registry.getSingleMetricAsString("plinth_http_requests_total");
    expect(text).not.toContain("random");
    expect(await value("plinth_http_requests_total", { route: "not_found", status_code: "404" })).toBe(2);
  });

  it("uses the configured HTTP latency buckets", async () => {
    const text = await svc.metrics.registry.getSingleMetricAsString("plinth_http_request_duration_seconds");
    const les = [...new Set([...text.matchAll(/le="([^"]+)"/g)].map((m) => m[1]))];
    expect(les).toEqual(["0.01", "0.1", "1", "+Inf"]);
  });

  it("counts predictions by label and records batch size, inference time and queue wait", async () => {
    const label = {
      model: "fashion-classifier",
      model_version: "1",
      variant: "stable",
      label: FIXTURE_LABELS[9]!,
    };
    const before = await value("plinth_predictions_total", label);
    const batchesBefore = await value("plinth_inference_batch_size_count", {});
    const rowsBefore = await value("plinth_inference_batch_size_sum", {});
    await predict([9, 9, 3]);
    expect(await value("plinth_predictions_total", label)).toBe(before + 2);
    expect(await value("plinth_inference_batch_size_sum", {})).toBe(rowsBefore + 3);
    expect(await value("plinth_inference_batch_size_count", {})).toBe(batchesBefore + 1);
    expect(await value("plinth_inference_duration_seconds_count", {})).toBeGreaterThan(0);
    expect(await value("plinth_inference_queue_wait_seconds_count", {})).toBeGreaterThan(0);
  });

  it("exports model info and readiness", async () => {
    expect(
      await value("plinth_model_ready", {
        model: "fashion-classifier",
        model_version: "1",
        variant: "stable",
      }),
    ).toBe(1);
    const info = await svc.metrics.registry.getSingleMetricAsString("plinth_model_info");
    expect(info).toMatch(
      /plinth_model_info\{model="fashion-classifier",model_version="1",variant="stable",sha256="[0-9a-f]{64}"\} 1/,
    );
  });

  it("serves /metrics on the internal server, which `promtool check metrics` finds clean", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port()}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain("plinth_http_requests_total{");
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("");
    expect(check.status).toBe(0);
    expect((await fetch(`http://127.0.0.1:${server.port()}/other`)).status).toBe(404);
  });
});
