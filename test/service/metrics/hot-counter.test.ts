/** HotCounter (service/metrics/registry.ts): increments summed in memory reach every reader. */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HotCounter } from "../../../service/metrics/registry.js";

const spec = {
  name: "test_hot_total",
  type: "counter",
  help: "a hot counter",
  labelNames: ["route", "status"],
} as const;

function fresh() {
  const registry = new Registry();
  return { registry, counter: new HotCounter(spec, [registry]) };
}

describe("HotCounter", () => {
  it("shows every increment to get() and to a scrape, once", async () => {
    const { registry, counter } = fresh();
    const ok = counter.cell("/predict", "200");
    ok.inc();
    ok.inc(4);
    counter.cell("/predict", "400").inc();
    const values = (await counter.get()).values.map((v) => [v.labels.status, v.value]);
    expect(values).toEqual([
      ["200", 5],
      ["400", 1],
    ]);
    ok.inc(2);
    const text = await registry.metrics();
    expect(text).toContain('test_hot_total{route="/predict",status="200"} 7');
    // A second read adds nothing that was already handed over.
    expect(await registry.metrics()).toContain('test_hot_total{route="/predict",status="200"} 7');
  });

  it("gives one cell per label set, so callers that cache differently still share it", async () => {
    const { counter } = fresh();
    counter.cell("/a", "200").inc();
    counter.cell("/a", "200").inc();
    // Label values that would collide if joined naively stay apart.
    counter.cell("/a 200", "").inc(10);
    const values = (await counter.get()).values.map((v) => [v.labels.route, v.labels.status, v.value]);
    expect(values).toEqual([
      ["/a", "200", 2],
      ["/a 200", "", 10],
    ]);
  });
});
