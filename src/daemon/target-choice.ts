// Which plan a converge applies (the fold or round robin under allocator "auto") and the `nft -c`
// check of its table, which runs while the ip changes go in and holds the table's load.
import { HostError } from "../host/errors.ts";
import type { CommandRunner } from "../host/command-runner.ts";
import type { PlanContext } from "../plan/desired.ts";
import { isMapePlan, type Plan } from "../plan/method.ts";
import type { HostState } from "../plan/observed.ts";
import { reconcileUp, type AppliedState, type ReconcileOptions } from "../plan/reconcile.ts";
import type { Settings } from "../plan/settings.ts";
import { renderNftables } from "../render/nftables.ts";
import { renderPlanTable } from "../render/render.ts";
import { planForLine, type LinePlan } from "./line-plan.ts";
import type { Resolution } from "./parameter-sources.ts";

/** `nft -c`: null when the kernel would take the ruleset, else the error to fail with. */
async function checkRuleset(runner: CommandRunner, nftScript: string): Promise<Error | null> {
  let check: Awaited<ReturnType<CommandRunner["run"]>>;
  try {
    check = await runner.run(["nft", "-c", "-f", "-"], { input: nftScript });
  } catch (err) {
    // settled, never rejected: an action before the load may fail first, and nobody awaits this then
    return err as Error;
  }
  if (check.code === 0) return null;
  return new HostError(
    "COMMAND_FAILED",
    `nft refused the generated ruleset: ${check.stderr.trim().split("\n")[0] ?? ""}`,
  );
}

/**
 * What `nft -c` can check before the actions run: nft resolves a flowtable's devices, and the tunnel
 * in it is made by this very run, so until it exists the check leaves the fast path out (the load
 * itself has it, after the tunnel).
 */
export function checkable(plan: Plan, host: HostState, nftScript: string): string {
  if (!isMapePlan(plan) || plan.fastPath !== true || host.links.some((l) => l.name === plan.tunnel.name))
    return nftScript;
  return renderNftables({ ...plan, fastPath: false });
}

/** A runner that holds `nft -f` of this script until the concurrent `nft -c` check has passed. */
export function holdLoadForCheck(
  runner: CommandRunner,
  check: Promise<Error | null>,
  nftScript: string,
): CommandRunner {
  return {
    run: async (argv, runOptions) => {
      if (argv[0] === "nft" && argv[1] === "-f" && runOptions?.input === nftScript) {
        const refused = await check;
        if (refused !== null) throw refused;
      }
      return runner.run(argv, runOptions);
    },
  };
}

/** A plan with its table, its first round of actions, and its table's check (null: no load). */
export interface Target extends LinePlan {
  readonly nftScript: string;
  readonly round: ReturnType<typeof reconcileUp>;
  readonly check: Promise<Error | null> | null;
}

export interface ChosenTarget extends Target {
  /**
   * Allocator "auto" applying the fold before its check has answered: the round-robin target for
   * the host as it is now, to apply when the fold's load was refused (and the apply rolled back).
   */
  readonly fallback: ((host: HostState) => Promise<Target>) | null;
}

export interface TargetInputs {
  readonly context: PlanContext;
  readonly host: HostState;
  readonly resolution: Resolution;
  readonly previous: AppliedState | null;
  readonly reconcile: ReconcileOptions;
}

/** Whether this process has seen nft or the kernel refuse the fold's table (see chooseTarget). */
let foldRefused = false;

/** Called when the fold's table was refused: from then on "auto" waits for the check before applying. */
export function noteFoldRefused(): void {
  foldRefused = true;
}

/**
 * The line's plan, its table and first round, with the table's `nft -c` check under way. nft -c takes
 * as long as loading the table (0.2–1 s on a small router, seconds under load): it runs while the ip
 * changes go in, and the load waits for it; a refusal fails the load, and applyActions then rolls
 * back what went before it. With allocator "auto", where this nft or kernel refuses the fold's port
 * maps, round robin: `optimistic` applies the fold without waiting for its check (the ip changes are
 * the same for both allocators) and leaves the fallback to the caller, until this process has seen a
 * refusal; otherwise, and in a dry run, the check is awaited first.
 */
export async function chooseTarget(
  settings: Settings,
  runner: CommandRunner,
  at: TargetInputs,
  optimistic: boolean,
): Promise<ChosenTarget> {
  const target = async (chosen: Settings, host: HostState): Promise<Target> => {
    const line = await planForLine(chosen, at.context, host, at.resolution, at.previous);
    const nftScript = renderPlanTable(line.plan);
    const round = reconcileUp(line.plan, nftScript, at.previous, host, at.reconcile);
    const check = round.actions.some((a) => a.id === "nat")
      ? checkRuleset(runner, checkable(line.plan, host, nftScript))
      : null;
    return { ...line, nftScript, round, check };
  };
  const roundRobin = (host: HostState) => target({ ...settings, allocator: "round-robin" }, host);
  const first = await target(settings, at.host);
  const folds = isMapePlan(first.plan) && first.plan.allocator === "fold";
  if (first.check === null || settings.allocator !== "auto" || !folds) return { ...first, fallback: null };
  // round robin applied under "auto" means an earlier process saw the fold refused (this kernel or
  // nft lacks what it needs): a boot then checks first instead of applying and rolling back
  const refusedBefore =
    at.previous !== null && isMapePlan(at.previous.plan) && at.previous.plan.allocator === "round-robin";
  if (optimistic && !foldRefused && !refusedBefore) return { ...first, fallback: roundRobin };
  if ((await first.check) === null) return { ...first, fallback: null };
  return { ...(await roundRobin(at.host)), fallback: null };
}
