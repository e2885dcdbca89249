import { describe, expect, it } from "vitest";
import {
  inferenceCostBetween,
  inferenceCounters,
  shadowCounters,
  shadowCountersBetween,
  sumSamples,
} from "../../bench/stats/prometheus-text.js";
import { METRICS } from "../../service/contract/metrics.js";

const duration = METRICS.inferenceDuration.name;
const batch = METRICS.inferenceBatchSize.name;

function exposition(seconds: [number, number], rows: [number, number], batches: [number, number]): string {
  return [
    `# HELP ${duration} ${METRICS.inferenceDuration.help}`,
    `# TYPE ${duration} histogram`,
    `${duration}_bucket{le="0.001",model="fashion-classifier",model_version="1",variant="stable"} 3`,
    `${duration}_sum{model="fashion-classifier",model_version="1",variant="stable"} ${seconds[0]}`,
    `${duration}_sum{model="fashion-classifier",model_version="2",variant="candidate"} ${seconds[1]}`,
    `${batch}_sum{model="fashion-classifier",model_version="1",variant="stable"} ${rows[0]}`,
    `${batch}_sum{model="fashion-classifier",model_version="2",variant="candidate"} ${rows[1]}`,
    `${batch}_count{model="fashion-classifier",model_version="1",variant="stable"} ${batches[0]}`,
    `${batch}_count{model="fashion-classifier",model_version="2",variant="candidate"} ${batches[1]}`,
    "",
  ].join("\n");
}

describe("sumSamples", () => {
  it("adds a metric's samples over every label set and skips comments and other metrics", () => {
    const text = [
      "# HELP x_total a } tricky help",
      'x_total{route="/a b",note="with } brace"} 2',
      "x_total 3 1700000000000",
      'x_total_more{route="/a"} 100',
      'x{route="/a"} 1000',
    ].join("\n");
    expect(sumSamples(text, "x_total")).toBe(5);
  });

  it("keeps only the label sets that carry every requested label", () => {
    const text = [
      'c_total{model="m",outcome="agree"} 7',
      'c_total{outcome="disagree",model="m"} 2',
      'c_total{model="m",note="outcome=\\"agree\\""} 100',
      'c_total{model="n",outcome="agree"} 1',
      "c_total 1000",
    ].join("\n");
    expect(sumSamples(text, "c_total", { outcome: "agree" })).toBe(8);
    expect(sumSamples(text, "c_total", { outcome: "agree", model: "m" })).toBe(7);
    expect(sumSamples(text, "c_total", { outcome: "unknown" })).toBe(0);
  });

  it("returns 0 for an absent metric and ignores non-numeric values", () => {
    expect(sumSamples("y 1\ny_sum NaN\n", "y_sum")).toBe(0);
    expect(sumSamples("y 1\n", "z")).toBe(0);
  });
});

describe("inference cost from two scrapes", () => {
  it("reads the catalog's histograms summed over variants", () => {
    expect(inferenceCounters(exposition([1.5, 0.5], [300, 100], [20, 5]))).toEqual({
      seconds: 2,
      rows: 400,
      batches: 25,
    });
  });

  it("divides the session.run time by the rows scored in between", () => {
    const before = inferenceCounters(exposition([1, 0], [1000, 0], [100, 0]));
    const after = inferenceCounters(exposition([1.2, 0], [11000, 0], [600, 0]));
    const cost = inferenceCostBetween(before, after)!;
    expect(cost.rows).toBe(10_000);
    expect(cost.perRowUs).toBeCloseTo(20, 6);
    expect(cost.meanBatchSize).toBe(20);
  });

  it("is undefined when no row ran", () => {
    const same = inferenceCounters(exposition([1, 0], [10, 0], [1, 0]));
    expect(inferenceCostBetween(same, same)).toBeUndefined();
  });
});

describe("shadow counters from two scrapes", () => {
  const comparisons = METRICS.shadowComparisons.name;
  const dropped = METRICS.shadowDropped.name;
  const scrape = (agree: number, disagree: number, drops: number) =>
    [
      `# TYPE ${comparisons} counter`,
      `${comparisons}{model="fashion-classifier",model_version="2",outcome="agree"} ${agree}`,
      `${comparisons}{model="fashion-classifier",model_version="2",outcome="disagree"} ${disagree}`,
      `${dropped}{model="fashion-classifier",model_version="2"} ${drops}`,
      "",
    ].join("\n");

  it("reads compared (both outcomes), agreed and dropped from the catalog's counters", () => {
    expect(shadowCounters(scrape(90, 10, 4))).toEqual({ compared: 100, agreed: 90, dropped: 4 });
    expect(shadowCounters("")).toEqual({ compared: 0, agreed: 0, dropped: 0 });
  });

  it("subtracts the earlier scrape", () => {
    expect(
      shadowCountersBetween(shadowCounters(scrape(90, 10, 4)), shadowCounters(scrape(1090, 12, 54))),
    ).toEqual({ compared: 1002, agreed: 1000, dropped: 50 });
  });
});
