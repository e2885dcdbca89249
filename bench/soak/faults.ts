/**
 * Faults the soak injects into itself, to show what its report does with them: the service
 * stopped (SIGSTOP to its process group, SIGCONT after), or the machine squeezed (busy processes
 * beside the generator). Each is given as `AT:SECONDS` after the start of the measured soak.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { monotonicMs } from "../load/generator/protocol.js";

export interface FaultTiming {
  /** Seconds after the measured soak's first request was due. */
  readonly atSeconds: number;
  readonly seconds: number;
}

export interface FaultPlan {
  readonly pauseService?: FaultTiming;
  /** The CPU hog runs one busy process per core unless `processes` says otherwise. */
  readonly cpuHog?: FaultTiming & { readonly processes?: number };
}

export type FaultKind = "service paused" | "CPU hog";

/** A fault as it was carried out, in ms after the measured soak's start. */
export interface InjectedFault {
  readonly kind: FaultKind;
  readonly fromMs: number;
  readonly toMs: number;
  readonly detail: string;
}

/** Parses `AT:SECONDS` (e.g. `20:3`); the error names the option. */
export function parseFaultTiming(option: string, text: string): FaultTiming {
  const match = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(text);
  const atSeconds = Number(match?.[1]);
  const seconds = Number(match?.[2]);
  if (match === null || !(seconds > 0)) {
    throw new RangeError(
      `--${option} takes AT:SECONDS (seconds after the soak starts, then how long; e.g. 20:3), got "${text}"`,
    );
  }
  return { atSeconds, seconds };
}

/**
 * Checks each fault ends early enough for the soak to see the service recover (the recovery limit
 * and a second of requests on time after it); the error names the option.
 */
export function checkFaultPlan(plan: FaultPlan, durationSeconds: number, recoverySeconds: number): void {
  for (const [option, timing] of [
    ["pause-service", plan.pauseService],
    ["cpu-hog", plan.cpuHog],
  ] as const) {
    const latestEnd = durationSeconds - recoverySeconds - 1;
    if (timing !== undefined && timing.atSeconds + timing.seconds > latestEnd) {
      throw new RangeError(
        `--${option} ${timing.atSeconds}:${timing.seconds} ends at ${timing.atSeconds + timing.seconds} s: ` +
          `a ${durationSeconds}-s soak needs it over by ${latestEnd} s to see the service recover`,
      );
    }
  }
}

/** Runs the plan's faults against a soak whose first request is due at `startEpochMs`. */
export class FaultInjector {
  readonly injected: InjectedFault[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stoppedGroup: number | undefined;
  private hogs: ChildProcess[] = [];
  private readonly startEpochMs: number;

  constructor(plan: FaultPlan, servicePid: number, startEpochMs: number) {
    this.startEpochMs = startEpochMs;
    const { pauseService, cpuHog } = plan;
    process.once("exit", this.stopOnExit);
    if (pauseService !== undefined) {
      this.during(pauseService, {
        start: () => {
          // The service runs in its own process group (stack/local/process.ts): stop all of it.
          process.kill(-servicePid, "SIGSTOP");
          this.stoppedGroup = servicePid;
        },
        end: (fromMs, toMs) => {
          this.resumeService();
          this.injected.push({
            kind: "service paused",
            fromMs,
            toMs,
            detail: `SIGSTOP to the service's process group, SIGCONT ${((toMs - fromMs) / 1000).toFixed(1)} s later`,
          });
        },
      });
    }
    if (cpuHog !== undefined) {
      const processes = cpuHog.processes ?? availableParallelism();
      this.during(cpuHog, {
        start: () => {
          // Each hog also ends itself on time, so a soak killed outright cannot leave one spinning.
          const untilMs = Date.now() + cpuHog.seconds * 1000;
          this.hogs = Array.from({ length: processes }, () =>
            spawn(process.execPath, ["-e", `while (Date.now() < ${untilMs});`], { stdio: "ignore" }),
          );
        },
        end: (fromMs, toMs) => {
          this.stopHogs();
          this.injected.push({
            kind: "CPU hog",
            fromMs,
            toMs,
            detail: `${processes} busy process${processes === 1 ? "" : "es"} beside the generator`,
          });
        },
      });
    }
  }

  private elapsedMs(): number {
    return monotonicMs() - this.startEpochMs;
  }

  private during(
    timing: FaultTiming,
    actions: { start: () => void; end: (fromMs: number, toMs: number) => void },
  ): void {
    const at = (ms: number, action: () => void) =>
      this.timers.push(setTimeout(action, Math.max(0, ms - this.elapsedMs())));
    at(timing.atSeconds * 1000, () => {
      const fromMs = this.elapsedMs();
      actions.start();
      at((timing.atSeconds + timing.seconds) * 1000, () => actions.end(fromMs, this.elapsedMs()));
    });
  }

  private resumeService(): void {
    if (this.stoppedGroup === undefined) return;
    try {
      process.kill(-this.stoppedGroup, "SIGCONT");
    } catch {
      // The group is gone: nothing left to resume.
    }
    this.stoppedGroup = undefined;
  }

  private stopHogs(): void {
    for (const hog of this.hogs) hog.kill("SIGKILL");
    this.hogs = [];
  }

  private readonly stopOnExit = () => this.stop();

  /** Ends every fault now (a soak that stops early must never leave the service stopped). */
  stop(): void {
    process.off("exit", this.stopOnExit);
    for (const timer of this.timers) clearTimeout(timer);
    this.resumeService();
    this.stopHogs();
  }
}
