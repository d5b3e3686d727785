import type { Counter } from "../isp.ts";
import type { Lab, LabOptions } from "../lab.ts";
import type { Method } from "../../src/plan/method.ts";

export interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** `mapectl lab run --json` prints exactly this (schemaVersion 1). */
export interface ScenarioReport {
  readonly schemaVersion: 1;
  readonly scenario: string;
  /** The IPv4 method the scenario proves. */
  readonly method: Method;
  readonly prefix: string;
  readonly passed: boolean;
  readonly checks: readonly Check[];
  /** The BRs' drop and pass counters after the scenario (`<br>_<reason>`). */
  readonly counters: Record<string, Counter>;
  /** Measurements a scenario reports besides its checks (seconds, scores); null when not measured. */
  readonly figures?: Record<string, number | null>;
}

/** What a scenario's run returns; runScenario adds the scenario's method. */
export type ScenarioResult = Omit<ScenarioReport, "method">;

export interface Scenario {
  readonly name: string;
  readonly method: Method;
  readonly summary: string;
  /** How the lab must boot for it (the router scenario: no namespace CE client, strict BRs). */
  readonly labOptions?: Partial<LabOptions>;
  /**
   * Host work before the VM boots (the router image): the guest sees the host over 9p with
   * cache=loose, so nothing it reads may be created on the host while it runs.
   */
  readonly beforeBoot?: (repo: string, log: (line: string) => void) => void;
  /** Runs on a booted lab whose CE is fresh (resetCe) and delegated `lab.prefix`. */
  run(lab: Lab): Promise<ScenarioResult>;
}

/** Collects checks; a check that throws is a failed check with the error as its detail. */
export class Checks {
  readonly list: Check[] = [];

  add(name: string, passed: boolean, detail: string): boolean {
    this.list.push({ name, passed, detail });
    return passed;
  }

  async try(name: string, body: () => Promise<{ passed: boolean; detail: string }>): Promise<boolean> {
    try {
      const { passed, detail } = await body();
      return this.add(name, passed, detail);
    } catch (err) {
      return this.add(name, false, (err as Error).message);
    }
  }

  report(scenario: string, lab: Lab, counters: Record<string, Counter>): ScenarioResult {
    return {
      schemaVersion: 1,
      scenario,
      prefix: lab.prefix,
      passed: this.list.length > 0 && this.list.every((c) => c.passed),
      checks: this.list,
      counters,
    };
  }
}

/** Only the counters that moved, so a report says what happened and not what did not. */
export function nonZero(counters: Record<string, Counter>): Record<string, Counter> {
  return Object.fromEntries(Object.entries(counters).filter(([, c]) => c.packets > 0));
}
