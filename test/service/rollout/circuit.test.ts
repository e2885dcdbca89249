import { describe, expect, it } from "vitest";
import { CandidateCircuit, type CircuitState } from "../../../service/rollout/circuit.js";

describe("CandidateCircuit", () => {
  it("opens after N consecutive failures, and a success in between starts the count again", () => {
    const changes: CircuitState[] = [];
    const circuit = new CandidateCircuit(3, (s) => changes.push(s));
    circuit.failure();
    circuit.failure();
    circuit.success();
    circuit.failure();
    circuit.failure();
    expect(circuit.state).toBe("closed");
    expect(circuit.consecutiveFailures).toBe(2);
    circuit.failure();
    expect(circuit.state).toBe("open");
    expect(circuit.openedAt).toBeInstanceOf(Date);
    circuit.failure();
    expect(changes).toEqual(["open"]);
  });

  it("stays open on success until reset, then closes and forgets", () => {
    const changes: CircuitState[] = [];
    const circuit = new CandidateCircuit(1, (s) => changes.push(s));
    circuit.failure();
    circuit.success();
    expect(circuit.isOpen).toBe(true);
    circuit.reset();
    expect(circuit.state).toBe("closed");
    expect(circuit.consecutiveFailures).toBe(0);
    expect(circuit.openedAt).toBeUndefined();
    circuit.reset();
    expect(changes).toEqual(["open", "closed"]);
  });
});
