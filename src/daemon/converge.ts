import { HostError } from "../host/errors.ts";
import { applyActions } from "../host/apply.ts";
import type { CommandRunner } from "../host/command-runner.ts";
import { observeHost } from "../host/observe.ts";
import { clearState, loadState, saveState } from "../host/state-store.ts";
import { planContext, planFromResolved } from "../plan/desired.ts";
import type { MapePlan } from "../plan/plan.ts";
import { reconcileDown, reconcileUp, type Action, type AppliedState } from "../plan/reconcile.ts";
import type { Settings } from "../plan/settings.ts";
import { renderNftables } from "../render/nftables.ts";
import type { RuleTable } from "../rules/table.ts";
import { parameterResolver, type ParameterResolver } from "./parameter-sources.ts";

export interface ConvergeResult {
  readonly plan: MapePlan;
  /** hb46pp, dhcpv6, tables or manual: where this plan's parameters came from. */
  readonly source: string;
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
  resolver: ParameterResolver = parameterResolver(settings, table),
): Promise<ConvergeResult> {
  const host = await observeHost(runner);
  const context = planContext(settings, host);
  const { resolved } = await resolver(context.prefix, context.wan);
  const { plan, prefixFrom } = planFromResolved(settings, context, resolved);
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
  return {
    plan,
    source: resolved.source,
    prefixFrom,
    actions,
    changed: !options.dryRun && actions.length > 0,
  };
}

/** Removes everything `up` applied (the network said no MAP-E, or the daemon was told to stop). */
export async function withdraw(runner: CommandRunner): Promise<readonly Action[]> {
  const previous = loadState();
  if (previous === null) return [];
  const actions = reconcileDown(previous, await observeHost(runner));
  await applyActions(runner, actions);
  clearState();
  return actions;
}
