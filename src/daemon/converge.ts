import { HostError } from "../host/errors.ts";
import { applyActions } from "../host/apply.ts";
import type { CommandRunner } from "../host/command-runner.ts";
import { observeHost } from "../host/observe.ts";
import { loadState, saveState } from "../host/state-store.ts";
import { desiredPlan } from "../plan/desired.ts";
import type { MapePlan } from "../plan/plan.ts";
import { reconcileUp, type Action, type AppliedState } from "../plan/reconcile.ts";
import type { Settings } from "../plan/settings.ts";
import { renderNftables } from "../render/nftables.ts";
import type { RuleTable } from "../rules/table.ts";
import { shippedNotMape } from "../rules/shipped.ts";

export interface ConvergeResult {
  readonly plan: MapePlan;
  readonly prefixFrom: string;
  readonly actions: readonly Action[];
  readonly changed: boolean;
}

/**
 * get config → verify → generate → check → apply, the one path both `up` and the daemon take:
 * observe the host, build the plan, apply only the difference (all or nothing), record it.
 */
export async function converge(
  settings: Settings,
  table: RuleTable,
  runner: CommandRunner,
  options: { readonly nodad: boolean; readonly dryRun: boolean },
): Promise<ConvergeResult> {
  const host = await observeHost(runner);
  const { plan, prefixFrom } = desiredPlan(settings, host, table, shippedNotMape());
  const nftScript = renderNftables(plan);
  const previous = loadState();
  const { actions, replacedDefaults, enabledForwarding } = reconcileUp(plan, nftScript, previous, host, {
    replaceDefault: settings.replaceDefault,
    nodad: options.nodad,
  });
  if (actions.some((a) => a.id === "nat")) {
    const check = await runner.run(["nft", "-c", "-f", "-"], { input: nftScript });
    if (check.code !== 0) {
      throw new HostError(
        "COMMAND_FAILED",
        `nft refused the generated ruleset (nothing was changed): ${check.stderr.trim().split("\n")[0] ?? ""}`,
      );
    }
  }
  if (!options.dryRun && actions.length > 0) await applyActions(runner, actions);
  if (!options.dryRun && (actions.length > 0 || previous === null)) {
    const state: AppliedState = {
      schemaVersion: 1,
      appliedAt: new Date().toISOString(),
      plan,
      nftScript,
      replacedDefaults,
      enabledForwarding,
    };
    saveState(state);
  }
  return { plan, prefixFrom, actions, changed: !options.dryRun && actions.length > 0 };
}
