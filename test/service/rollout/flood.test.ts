/**
 * Issue #24: a client must not be able to open the candidate's circuit by flooding it. One caller
 * holds at most CANDIDATE_IDENTITY_SHARE of the candidate's queue (429 beyond it), refusals the
 * callers cause (a full queue) never count as candidate failures, and an open circuit half-opens
 * on its own after CANDIDATE_CIRCUIT_COOLDOWN_MS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../service/errors/api-error.js";
import { ErrorCode } from "../../../service/errors/codes.js";
import { QueueFullError } from "../../../service/inference/batcher.js";
import type { PlinthModel } from "../../../service/inference/model.js";
import { CanaryBuckets } from "../../../service/rollout/buckets.js";
import { requirePlinthModel } from "../../../service/serving/capabilities.js";
import type { TestService } from "../server/service-fixture.js";
import { OPS_HEADERS, predictRow, startRolloutService, TESTER_HEADERS } from "./rollout-fixture.js";

const BUCKET_KEY = "flood-test-bucket-key-0123456789abcdef";
/** QUEUE_MAX_ROWS 8 at CANDIDATE_IDENTITY_SHARE 25 %: one caller may hold 2 rows on the candidate. */
const QUEUE_MAX_ROWS = 8;
const SHARE_ROWS = 2;
const THRESHOLD = 3;

let svc: TestService;
beforeAll(async () => {
  svc = await startRolloutService({
    ROLLOUT_STRATEGY: "canary",
    CANDIDATE_WEIGHT: "50",
    ROLLOUT_BUCKET_KEY: BUCKET_KEY,
    QUEUE_MAX_ROWS: String(QUEUE_MAX_ROWS),
    BATCH_MAX_SIZE: "4",
    MAX_ROWS_PER_REQUEST: "4",
    CANDIDATE_IDENTITY_SHARE: "25",
    CANDIDATE_CIRCUIT_THRESHOLD: String(THRESHOLD),
    CANDIDATE_CIRCUIT_COOLDOWN_MS: "100",
    CANDIDATE_TIMEOUT_MS: "5000",
  });
});
afterAll(() => svc.close());
afterEach(() => vi.restoreAllMocks());

/** Sticky keys that land on the candidate: what an attacker who could compute buckets would pick. */
const buckets = new CanaryBuckets(BUCKET_KEY);
const candidateKeys = Array.from({ length: 400 }, (_, i) => `flood-${i}`)
  .filter((k) => buckets.routesToCandidate(k, 50))
  .slice(0, 40);

const candidateModel = (): PlinthModel => requirePlinthModel(svc.models.candidate!.current!, "the test");

/**
 * Makes the candidate's queue behave as a slow model's would: a run waits for `open()`, and rows
 * beyond QUEUE_MAX_ROWS in flight are refused with the batcher's own QueueFullError.
 */
function holdCandidateQueue(): { open: () => void; inFlight: () => number } {
  const model = candidateModel();
  const infer = model.infer.bind(model);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let rowsInFlight = 0;
  vi.spyOn(model, "infer").mockImplementation(async (input, rows) => {
    if (rowsInFlight + rows > QUEUE_MAX_ROWS)
      throw new QueueFullError(`inference queue full (${rowsInFlight} of ${QUEUE_MAX_ROWS} rows)`);
    rowsInFlight += rows;
    await gate;
    rowsInFlight -= rows;
    return infer(input, rows);
  });
  return { open: release, inFlight: () => rowsInFlight };
}

const asTester = (key: string) => ({ ...TESTER_HEADERS, "x-user-id": key });
const asOps = (key: string) => ({ ...OPS_HEADERS, "x-user-id": key });

describe("one caller flooding the candidate", () => {
  it("gets 429 beyond its share, the circuit stays closed, and other callers are still served by it", async () => {
    expect(candidateKeys.length).toBe(40);
    const queue = holdCandidateQueue();
    const flood = candidateKeys.map((key) => predictRow(svc, 3, asTester(key)));
    // Let every flood request reach the engine before another caller arrives.
    await vi.waitFor(() => expect(queue.inFlight()).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(svc.rollout.snapshot().circuit.state).toBe("closed");
    expect(svc.rollout.candidateShares.heldBy("key:tester")).toBe(SHARE_ROWS);

    const other = predictRow(svc, 5, asOps(candidateKeys[0]!));
    await vi.waitFor(() => expect(queue.inFlight()).toBe(SHARE_ROWS + 1));
    queue.open();
    const [floodResults, otherResult] = await Promise.all([Promise.all(flood), other]);

    const refused = floodResults.filter((r) => r.status === 429);
    expect(refused).toHaveLength(candidateKeys.length - SHARE_ROWS);
    expect(refused[0]!.body.error).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    expect(refused[0]!.body.error!.message).toContain(`${SHARE_ROWS} of the ${SHARE_ROWS} rows`);
    const served = floodResults.filter((r) => r.status === 200);
    expect(served.map((r) => r.body.model.variant)).toEqual(["candidate", "candidate"]);

    expect(otherResult.status).toBe(200);
    expect(otherResult.body.model.variant).toBe("candidate");
    const { circuit, fallbacks } = svc.rollout.snapshot();
    expect(circuit).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(fallbacks.total).toBe(0);
    expect(svc.rollout.candidateShares.heldBy("key:tester")).toBe(0);
  });

  it("sends Retry-After with the 429, and serves the caller again once its work is done", async () => {
    const queue = holdCandidateQueue();
    const held = [1, 2].map((i) => predictRow(svc, 1, asTester(candidateKeys[i]!)));
    await vi.waitFor(() => expect(svc.rollout.candidateShares.heldBy("key:tester")).toBe(SHARE_ROWS));
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict",
      headers: asTester(candidateKeys[3]!),
      payload: { inputs: Array.from({ length: 784 }, () => 0) },
    });
    expect(res.statusCode).toBe(429);
    expect(res.headers["retry-after"]).toBe("1");
    queue.open();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    expect((await predictRow(svc, 1, asTester(candidateKeys[3]!))).body.model.variant).toBe("candidate");
  });
});

describe("a full candidate queue", () => {
  it("is load, not a failure: stable answers, the fallback is counted as overloaded, the circuit is not told", async () => {
    const before = svc.rollout.snapshot().fallbacks.byReason.overloaded;
    vi.spyOn(candidateModel(), "infer").mockImplementation(() =>
      Promise.reject(new QueueFullError("inference queue full (8 of 8 rows)")),
    );
    for (let i = 0; i < THRESHOLD * 3; i++) {
      const res = await predictRow(svc, 2, asTester(candidateKeys[i]!));
      expect(res.status).toBe(200);
      expect(res.body.model.variant).toBe("stable");
    }
    const { circuit, fallbacks } = svc.rollout.snapshot();
    expect(circuit).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(fallbacks.byReason.overloaded - before).toBe(THRESHOLD * 3);
  });
});

describe("the circuit after genuine candidate failures", () => {
  it("opens, half-opens on its own after CANDIDATE_CIRCUIT_COOLDOWN_MS, and a successful probe closes it", async () => {
    const broken = vi.spyOn(candidateModel(), "infer").mockRejectedValue(new Error("session exploded"));
    for (let i = 0; i < THRESHOLD; i++) {
      const res = await predictRow(svc, 2, asTester(candidateKeys[i]!));
      expect(res.body.model.variant).toBe("stable");
    }
    expect(svc.rollout.snapshot().circuit.state).toBe("open");
    broken.mockRestore();
    expect((await predictRow(svc, 2, asTester(candidateKeys[0]!))).body.model.variant).toBe("stable");

    await vi.waitFor(() => expect(svc.rollout.snapshot().circuit.state).toBe("half-open"), {
      timeout: 2000,
      interval: 20,
    });
    const probe = await predictRow(svc, 2, asTester(candidateKeys[0]!));
    expect(probe.body.model.variant).toBe("candidate");
    expect(svc.rollout.snapshot().circuit).toMatchObject({ state: "closed", consecutiveFailures: 0 });
  });

  it("counts the candidate's own 4xx as its failure: the caller's input was checked before routing", async () => {
    // E.g. a candidate whose contract refuses rows stable takes: the caller gets stable's answer.
    vi.spyOn(candidateModel(), "infer").mockRejectedValue(
      new ApiError(ErrorCode.INVALID_REQUEST, "the candidate's contract refuses these rows"),
    );
    for (let i = 0; i < THRESHOLD; i++) {
      const res = await predictRow(svc, 2, asTester(candidateKeys[i]!));
      expect(res.status).toBe(200);
      expect(res.body.model.variant).toBe("stable");
    }
    expect(svc.rollout.snapshot().circuit.state).toBe("open");
  });
});
