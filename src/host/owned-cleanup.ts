import { HostRefusal } from "./host-refusal.ts";
import { ownedCleanup } from "../plan/owned-cleanup.ts";
import { planMethod, type Method } from "../plan/method.ts";
import { planParts } from "../plan/plan-parts.ts";
import { reconcileDown, type Action, type AppliedState } from "../plan/reconcile.ts";
import { applyActions } from "./apply.ts";
import { removeBootTable, type BootTableChange } from "./boot-table.ts";
import type { CommandRunner } from "./command-runner.ts";
import { observeHost } from "./observe.ts";
import { clearState, loadState } from "./state-store.ts";

export interface TeardownOptions {
  /** Without a usable state file, remove what is provably mapectl's (ownedCleanup). */
  readonly forceOwned: boolean;
  /** The tunnel ownedCleanup may delete (an ip4ip6 tunnel of this name). */
  readonly tunnelName: string;
  readonly dryRun: boolean;
}

export interface Teardown {
  /** What the state file recorded ("mape (192.0.2.1)"), null when it was missing or damaged. */
  readonly applied: string | null;
  /** The recorded plan's method; null without a usable state file. */
  readonly method: Method | null;
  readonly actions: readonly Action[];
  /** No state and no --force-owned: what is provably mapectl's on the host, left in place. */
  readonly unrecorded: readonly Action[];
  /** On VyOS (owner vyos): the boot hook's table file, removed so a reboot does not load it again. */
  readonly bootTable?: BootTableChange | null;
}

function isDamagedState(err: unknown): boolean {
  return err instanceof HostRefusal;
}

/**
 * `down`: removes what the state file says `up` applied. With forceOwned it also works without
 * one (missing, truncated, partly written): then only mapectl's table, its protocol 77 routes and
 * its tunnel go, and the damaged file after them.
 */
export async function teardown(runner: CommandRunner, options: TeardownOptions): Promise<Teardown> {
  let previous: AppliedState | null;
  try {
    previous = loadState();
  } catch (err) {
    if (!options.forceOwned || !isDamagedState(err)) throw err;
    previous = null;
  }
  if (previous !== null) {
    const actions = reconcileDown(previous, await observeHost(runner));
    const method = planMethod(previous.plan);
    if (options.dryRun) return { applied: label(previous), method, actions, unrecorded: [] };
    await applyActions(runner, actions);
    clearState();
    const bootTable = previous.plan.tunnelOwner === "vyos" ? removeBootTable() : null;
    const rest = options.forceOwned ? ownedCleanup(await observeHost(runner), options.tunnelName) : [];
    await applyActions(runner, rest);
    return { applied: label(previous), method, actions: [...actions, ...rest], unrecorded: [], bootTable };
  }
  if (!options.forceOwned) {
    let unrecorded: Action[] = [];
    try {
      unrecorded = ownedCleanup(await observeHost(runner), options.tunnelName);
    } catch {
      // cannot look (no ip here): there is no record either, so nothing to say
    }
    return { applied: null, method: null, actions: [], unrecorded };
  }
  const owned = ownedCleanup(await observeHost(runner), options.tunnelName);
  if (!options.dryRun) {
    await applyActions(runner, owned);
    clearState();
  }
  return { applied: null, method: null, actions: owned, unrecorded: [] };
}

function label(state: AppliedState): string {
  return `${state.plan.tunnel.name} (${planParts(state.plan).tunnelIpv4.address})`;
}
