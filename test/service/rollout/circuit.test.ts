import { describe, expect, it } from "vitest";
import { CandidateCircuit, type CircuitState } from "../../../service/rollout/circuit.js";

/** A circuit on a clock the test moves by hand. */
function circuitAt(threshold: number, cooldownMs = 30_000, maxCooldownMs?: number) {
  const clock = { now: 1_000_000 };
  const changes: CircuitState[] = [];
  const circuit = new CandidateCircuit({ threshold, cooldownMs, maxCooldownMs, now: () => clock.now }, (s) =>
    changes.push(s),
  );
  return { circuit, clock, changes };
}

/** Fails `n` requests let through while the circuit is closed. */
function failRequests(circuit: CandidateCircuit, n: number): void {
  for (let i = 0; i < n; i++) circuit.failure(circuit.admit() ?? "request");
}

describe("CandidateCircuit", () => {
  it("opens after N consecutive failures, and a success in between starts the count again", () => {
    const { circuit, changes } = circuitAt(3);
    failRequests(circuit, 2);
    circuit.success(circuit.admit()!);
    failRequests(circuit, 2);
    expect(circuit.state).toBe("closed");
    expect(circuit.consecutiveFailures).toBe(2);
    failRequests(circuit, 1);
    expect(circuit.state).toBe("open");
    expect(circuit.openedAt).toBeInstanceOf(Date);
    circuit.failure("request");
    expect(changes).toEqual(["open"]);
  });

  it("stays open on a late success of a request let through before it opened; a reset closes it", () => {
    const { circuit, changes } = circuitAt(1);
    const late = circuit.admit()!;
    failRequests(circuit, 1);
    circuit.success(late);
    expect(circuit.state).toBe("open");
    expect(circuit.admit()).toBeUndefined();
    circuit.reset();
    expect(circuit.state).toBe("closed");
    expect(circuit.consecutiveFailures).toBe(0);
    expect(circuit.openedAt).toBeUndefined();
    circuit.reset();
    expect(changes).toEqual(["open", "closed"]);
  });

  it("does not count a released pass (a refusal the caller caused) as success or failure", () => {
    const { circuit } = circuitAt(2);
    failRequests(circuit, 1);
    for (let i = 0; i < 100; i++) circuit.release(circuit.admit()!);
    expect(circuit.consecutiveFailures).toBe(1);
    expect(circuit.state).toBe("closed");
  });
});

describe("CandidateCircuit half-open (issue #24)", () => {
  it("half-opens on its own after the cooldown and lets one probe through; its success closes", () => {
    const { circuit, clock, changes } = circuitAt(2, 30_000);
    failRequests(circuit, 2);
    expect(circuit.probeAt!.getTime() - circuit.openedAt!.getTime()).toBe(30_000);
    clock.now += 29_999;
    expect(circuit.state).toBe("open");
    expect(circuit.admit()).toBeUndefined();
    clock.now += 1;
    expect(circuit.state).toBe("half-open");
    expect(circuit.probeAt).toBeUndefined();
    expect(circuit.admitsRequests).toBe(true);
    const probe = circuit.admit();
    expect(probe).toBe("probe");
    // One probe at a time: the others still go to stable.
    expect(circuit.admitsRequests).toBe(false);
    expect(circuit.admit()).toBeUndefined();
    circuit.success(probe!);
    expect(circuit.state).toBe("closed");
    expect(circuit.consecutiveFailures).toBe(0);
    expect(circuit.admit()).toBe("request");
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("re-opens when the probe fails, for twice the cooldown each time, up to the maximum", () => {
    const { circuit, clock, changes } = circuitAt(1, 1000, 4000);
    failRequests(circuit, 1);
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      const wait = circuit.probeAt!.getTime() - clock.now;
      cooldowns.push(wait);
      clock.now += wait - 1;
      expect(circuit.admit(), `still open 1 ms before probe ${i}`).toBeUndefined();
      clock.now += 1;
      circuit.failure(circuit.admit()!);
      expect(circuit.state).toBe("open");
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 4000]);
    expect(changes.slice(0, 4)).toEqual(["open", "half-open", "open", "half-open"]);
    // A success resets the backoff: the next opening waits the base cooldown again.
    clock.now += 4000;
    circuit.success(circuit.admit()!);
    failRequests(circuit, 1);
    expect(circuit.probeAt!.getTime() - clock.now).toBe(1000);
  });

  it("keeps a probe slot through a released probe (a full queue), neither closing nor re-opening", () => {
    const { circuit, clock } = circuitAt(1, 1000);
    failRequests(circuit, 1);
    clock.now += 1000;
    circuit.release(circuit.admit()!);
    expect(circuit.state).toBe("half-open");
    expect(circuit.admit()).toBe("probe");
  });

  it("is closed at once by a reset while half-open, and a late probe then changes nothing", () => {
    const { circuit, clock } = circuitAt(1, 1000);
    failRequests(circuit, 1);
    clock.now += 1000;
    const probe = circuit.admit()!;
    circuit.reset();
    expect(circuit.state).toBe("closed");
    circuit.failure(probe);
    expect(circuit.state).toBe("closed");
    expect(circuit.admit()).toBe("request");
  });
});
