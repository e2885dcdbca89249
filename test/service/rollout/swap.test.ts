import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReloadEvent } from "../../../service/rollout/summary.js";
import { ROW_SIZE, rowForClass } from "../inference/fixture-model.js";
import type { TestService } from "../server/service-fixture.js";
import {
  CANDIDATE_SHIFT,
  metricValue,
  OPS_HEADERS,
  postReload,
  publishBrokenVersion,
  publishVersion,
  startRolloutService,
} from "./rollout-fixture.js";

/** A 28x28 grayscale PNG of `rowForClass(cls)`, for the route that awaits a decode mid-request. */
async function pngForClass(cls: number): Promise<Buffer> {
  const pixels = Uint8Array.from(rowForClass(cls));
  return sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

interface Outcome {
  status: number;
  version: string;
  classId: number;
  cls: number;
}

describe("hot swap under constant load", () => {
  let svc: TestService;
  const shifts = new Map<string, number>([
    ["1", 0],
    ["2", CANDIDATE_SHIFT],
  ]);
  beforeAll(async () => {
    svc = await startRolloutService({ ROLLOUT_STRATEGY: "canary", CANDIDATE_WEIGHT: "50" });
  });
  afterAll(() => svc.close());

  it("fails no request while both variants are swapped, and a failed load keeps the old version", async () => {
    const pngs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(pngForClass));
    const outcomes: Outcome[] = [];
    let stop = false;
    let n = 0;
    const one = async (worker: number): Promise<Outcome> => {
      const cls = n++ % 10;
      const headers = { ...OPS_HEADERS, "x-user-id": `user-${worker}-${n}` };
      const res =
        worker % 2 === 0
          ? await svc.app.inject({
              method: "POST",
              url: "/predict",
              headers,
              payload: { inputs: rowForClass(cls) },
            })
          : await svc.app.inject({
              method: "POST",
              url: "/predict-image",
              headers: { ...headers, "content-type": "image/png" },
              payload: pngs[cls],
            });
      const body = res.json();
      return {
        status: res.statusCode,
        version: body.model?.version,
        classId: body.predictions?.[0]?.class_id,
        cls,
      };
    };
    const worker = async (id: number) => {
      while (!stop) outcomes.push(await one(id));
    };
    const load = Array.from({ length: 12 }, (_, i) => worker(i));

    const reload = (variant: "stable" | "candidate" | "all") => postReload(svc, variant);
    const settle = async () => {
      // Let a batch of requests run on whatever is now serving.
      const target = outcomes.length + 60;
      while (outcomes.length < target) await new Promise((r) => setImmediate(r));
    };

    await settle();
    shifts.set(await publishVersion(svc, "champion", 2), 2);
    expect((await reload("stable")).json().results[0]).toMatchObject({ result: "loaded", version: "3" });
    await settle();
    shifts.set(await publishVersion(svc, "challenger", 3), 3);
    expect((await reload("candidate")).json().results[0]).toMatchObject({ result: "loaded", version: "4" });
    await settle();
    await publishBrokenVersion(svc, "champion");
    const failed = await reload("all");
    expect(failed.statusCode).toBe(500);
    expect(failed.json().error.code).toBe("RELOAD_FAILED");
    expect(failed.json().error.message).toMatch(/^reload failed: stable: .+ \(version 3 keeps serving\)$/);
    await settle();
    stop = true;
    await Promise.all(load);

    expect(outcomes.length).toBeGreaterThan(240);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    for (const o of outcomes) {
      expect(shifts.has(o.version), `version ${o.version}`).toBe(true);
      expect(o.classId).toBe((o.cls + shifts.get(o.version)!) % 10);
    }
    const seen = new Set(outcomes.map((o) => o.version));
    expect([...seen].sort()).toEqual(["1", "2", "3", "4"]);
    // After the failed load the swapped-in versions keep serving.
    const tail = outcomes.slice(-40).map((o) => o.version);
    expect(new Set(tail)).toEqual(new Set(["3", "4"]));
    expect(svc.rollout.snapshot().variants.stable.version).toBe("3");
    expect(svc.rollout.snapshot().lastReload).toMatchObject({ variant: "candidate", result: "unchanged" });
    expect(
      await metricValue(svc, "plinth_model_reloads_total", { variant: "stable", result: "failed" }),
    ).toBe(1);
    const info = await svc.metrics.registry.getSingleMetricAsString("plinth_model_info");
    expect(info).not.toMatch(/model_version="[12]"/);
  });

  it("runs a request routed before a swap and scored after it on the new version", async () => {
    const request = { id: "req-1", headers: {}, principal: null, log: { warn: () => undefined } };
    const asRequest = request as unknown as Parameters<typeof svc.rollout.route>[0];
    const routed = svc.rollout.routePlinth(asRequest, "the test", "stable");
    const encoded = Float32Array.from(rowForClass(6), (v) => v / 255);
    const next = await publishVersion(svc, "champion", 4);
    await svc.rollout.reload({ variant: "stable", trigger: "api" });
    const scored = await svc.rollout.score(asRequest, routed, encoded, 1);
    expect(routed.model.version).not.toBe(next);
    expect(scored.model.version).toBe(next);
    expect(Array.from(scored.probs).indexOf(Math.max(...scored.probs))).toBe(0);
  });
});

describe("the alias watcher", () => {
  let svc: TestService;
  const events: ReloadEvent[] = [];
  beforeAll(async () => {
    svc = await startRolloutService({
      ROLLOUT_STRATEGY: "canary",
      CANDIDATE_WEIGHT: "0",
      MODEL_WATCH_INTERVAL_MS: "100",
    });
    svc.models.onReload((e) => events.push(e));
  });
  afterAll(() => svc.close());

  const nextEvent = async (count: number) => {
    while (events.length < count) await new Promise((r) => setTimeout(r, 20));
    return events[count - 1]!;
  };

  it("swaps in the version an alias moves to", async () => {
    await publishVersion(svc, "champion", 5);
    const event = await nextEvent(1);
    expect(event).toMatchObject({
      variant: "stable",
      trigger: "watcher",
      result: "loaded",
      previousVersion: "1",
      version: "3",
    });
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict",
      headers: OPS_HEADERS,
      payload: { inputs: new Array(ROW_SIZE).fill(0).map((_, i) => (i % 10 === 2 ? 255 : 0)) },
    });
    expect(res.json().model.version).toBe("3");
    expect(res.json().predictions[0].class_id).toBe(7);
    expect(svc.rollout.snapshot().aliases).toEqual({ champion: "3", challenger: "2" });
  });

  it("reports a version that fails to load once, and keeps the old one serving", async () => {
    const broken = await publishBrokenVersion(svc, "champion");
    const event = await nextEvent(2);
    expect(event).toMatchObject({ variant: "stable", trigger: "watcher", result: "failed", version: "3" });
    expect(event.attemptedVersion).toBe(broken);
    expect(event.error).toContain(`${broken}`);
    // Further passes do not retry the same broken version, nor report it again.
    expect(await svc.models.poll()).toEqual([]);
    expect(await svc.models.poll()).toEqual([]);
    expect(svc.models.current!.version).toBe("3");
    expect(svc.rollout.snapshot().lastReload).toEqual(event);
  });
});
