/**
 * HotHistogram (service/metrics/hot-histogram.ts) exposes exactly what a prom-client Histogram fed
 * the same observations exposes: same buckets, sums, counts and label sets, in Prometheus text.
 */
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HotHistogram } from "../../../service/metrics/hot-histogram.js";

const buckets = [0.001, 0.005, 0.025, 0.1];
const spec = {
  name: "test_seconds",
  type: "histogram",
  help: "a hot histogram",
  labelNames: ["route", "variant"],
} as const;
const observations: [string, string, number][] = [
  ["/predict", "stable", 0.0004],
  ["/predict", "stable", 0.001], // on a bound: counted in it, as Prometheus' le means
  ["/predict", "stable", 0.02],
  ["/predict", "candidate", 0.3], // above every bound: +Inf only
  ["/v2", "stable", 0.004],
];

async function exposition(
  observe: (route: string, variant: string, value: number) => void,
  registry: Registry,
) {
  for (const [route, variant, value] of observations) observe(route, variant, value);
  return registry.metrics();
}

describe("HotHistogram", () => {
  it("exposes what prom-client's own Histogram exposes for the same observations", async () => {
    const plainRegistry = new Registry();
    const plain = new Histogram({
      ...spec,
      labelNames: [...spec.labelNames],
      buckets,
      registers: [plainRegistry],
    });
    const hotRegistry = new Registry();
    const hot = new HotHistogram(spec, buckets, [hotRegistry]);
    const expected = await exposition((r, v, x) => plain.labels(r, v).observe(x), plainRegistry);
    const actual = await exposition((r, v, x) => hot.cell(r, v).observe(x), hotRegistry);
    expect(actual).toBe(expected);
    expect(actual).toContain('test_seconds_bucket{le="0.001",route="/predict",variant="stable"} 2');
    expect(actual).toContain('test_seconds_bucket{le="+Inf",route="/predict",variant="candidate"} 1');
    expect(actual).toContain('test_seconds_sum{route="/predict",variant="stable"} 0.0214');
  });

  it("ignores a value that is no finite number instead of throwing into a request", async () => {
    const registry = new Registry();
    const hot = new HotHistogram(spec, buckets, [registry]);
    hot.cell("/predict", "stable").observe(Number.NaN);
    hot.cell("/predict", "stable").observe(0.002);
    expect(await registry.metrics()).toContain('test_seconds_count{route="/predict",variant="stable"} 1');
  });

  it("refuses a cell with the wrong number of label values, naming the metric", () => {
    const hot = new HotHistogram(spec, buckets, [new Registry()]);
    expect(() => hot.cell("/predict")).toThrow("test_seconds: 2 label values expected, got 1");
  });
});
