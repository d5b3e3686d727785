import type { Action, Command } from "../plan/reconcile.ts";
import { parseAddresses } from "../plan/observed.ts";
import { runChecked, type CommandRunner } from "./command-runner.ts";
import { HostError } from "./errors.ts";

export interface ApplyReport {
  readonly applied: readonly string[];
}

// The kernel's DAD: a random delay up to 1 s, then dad_transmits probes a retransmit time apart
// (1 and 1 s unless the line's RA or the user says more).
const DAD_TIMEOUT_MS = 10_000;

async function run(runner: CommandRunner, command: Command): Promise<void> {
  await runChecked(runner, command.argv, command.input === undefined ? {} : { input: command.input });
}

/** A duplicate address detection verdict, not a command's failure: the apply's error says so. */
class DadVerdict extends HostError {}

/**
 * DAD runs in the kernel after `ip addr add` (an optimistic address is usable meanwhile, and stays
 * tentative until it ends); a duplicate means another CE owns this address.
 */
async function waitForDad(runner: CommandRunner, dev: string, address: string): Promise<void> {
  const deadline = Date.now() + DAD_TIMEOUT_MS;
  for (;;) {
    const json: unknown = JSON.parse(
      await runChecked(runner, ["ip", "-j", "-6", "addr", "show", "dev", dev]),
    );
    const entry = parseAddresses(json).find((a) => a.address === address);
    if (entry?.dadFailed === true) {
      throw new DadVerdict(
        "COMMAND_FAILED",
        `duplicate address detection failed for ${address} on ${dev}: another CE on this line already uses it (is the ISP's router still in router mode? put it in bridge/AP mode)`,
      );
    }
    if (entry !== undefined && !entry.tentative) return;
    if (Date.now() > deadline) {
      throw new DadVerdict(
        "COMMAND_FAILED",
        `${address} on ${dev} is still tentative after ${DAD_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Applies the actions in order, calling `afterEach` after each one (what must happen right then,
 * between two actions). If one fails, the ones already done are undone newest first, so
 * the host ends exactly as it was, and the error says so.
 */
export async function applyActions(
  runner: CommandRunner,
  actions: readonly Action[],
  afterEach?: (action: Action) => Promise<void>,
): Promise<ApplyReport> {
  const done: Action[] = [];
  for (const action of actions) {
    try {
      if (action.afterDad !== undefined)
        await waitForDad(runner, action.afterDad.dev, action.afterDad.address);
      await run(runner, action.apply);
      done.push(action);
      if (action.waitForDad !== undefined)
        await waitForDad(runner, action.waitForDad.dev, action.waitForDad.address);
      await afterEach?.(action);
    } catch (err) {
      const failures: string[] = [];
      for (const undo of [...done].reverse()) {
        if (undo.undo === null) continue;
        try {
          await run(runner, undo.undo);
        } catch (undoErr) {
          failures.push(`${undo.id}: ${(undoErr as Error).message}`);
        }
      }
      const why = (err as Error).message;
      const rolled =
        failures.length === 0
          ? `rolled back ${done.length} change${done.length === 1 ? "" : "s"}, the host is as before`
          : `rollback incomplete (${failures.join("; ")})`;
      const what = err instanceof DadVerdict ? why : `${action.summary} failed: ${why}`;
      throw new HostError("COMMAND_FAILED", `${what}; ${rolled}`);
    }
  }
  return { applied: done.map((a) => a.id) };
}
