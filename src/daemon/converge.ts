import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { registerIpip } from "../host/ipip-registration.ts";
import type { UpdateRecord } from "../provision/ipip-update.ts";
import { removeBootTable, syncBootTable, type BootTableChange } from "../host/boot-table.ts";
import { applyActions } from "../host/apply.ts";
import type { CommandRunner } from "../host/command-runner.ts";
import { observeHost } from "../host/observe.ts";
import { clearState, loadState, saveState } from "../host/state-store.ts";
import { formatIpv6Prefix, ipv6Mask, parseIpv6, type Ipv6Prefix } from "../mape/ipv6.ts";
import { HostNotReady, planContext, type PlanContext } from "../plan/desired.ts";
import type { HostState, ObservedAddress } from "../plan/observed.ts";
import { isIpipPlan, type Plan } from "../plan/method.ts";
import { planParts } from "../plan/plan-parts.ts";
import {
  reconcileDown,
  reconcileUp,
  vyosDrift,
  type Action,
  type AppliedState,
  type ReconcileOptions,
} from "../plan/reconcile.ts";
import type { Settings } from "../plan/settings.ts";
import { ceAddressDel } from "../render/iproute2.ts";
import { flushStaleFlows } from "./stale-flows.ts";
import {
  chooseTarget,
  holdLoadForCheck,
  noteFoldRefused,
  type ChosenTarget,
  type Target,
} from "./target-choice.ts";
import type { RuleTable } from "../rules/table.ts";
import { parameterResolver, sourceOrder, type ParameterResolver } from "./parameter-sources.ts";

export interface ConvergeResult {
  readonly plan: Plan;
  /** hb46pp, dhcpv6, tables or manual: where this plan's parameters came from. */
  readonly source: string;
  readonly prefixFrom: string;
  readonly actions: readonly Action[];
  readonly changed: boolean;
  /** NAT entries of the previous IPv4 address removed from conntrack; null when not tried. */
  readonly flushed: { readonly address: string; readonly flows: number | null } | null;
  /** Why the parameters are the last good answer's, when asking the network again failed. */
  readonly stale: string | null;
  /** IPIP: the last call of the provider's update URL (this round's, or the one still standing). */
  readonly update?: UpdateRecord | null;
  /** What the network said that changed nothing but should be seen (a DS-Lite-only HB46PP answer). */
  readonly notice?: string | null;
  /** With a VyOS-owned tunnel: what of VyOS's configuration does not match the plan (vyosDrift). */
  readonly vyosDrift: readonly string[];
  /**
   * With a VyOS-owned tunnel: the table file VyOS's boot hook loads, made the table just loaded.
   * Absent when not tried (dry run, another owner, no boot hook's directory).
   */
  readonly bootTable?: BootTableChange;
}

function isDeadCeAddress(a: ObservedAddress, previous: AppliedState | null): boolean {
  if (previous === null || a.family !== 6 || a.dev !== previous.plan.wan) return false;
  const ce = planParts(previous.plan).wanAddress;
  if (ce === null) return false;
  try {
    return parseIpv6(a.address) === parseIpv6(ce.replace(/\/128$/, ""));
  } catch {
    return false;
  }
}

/**
 * The previous plan's CE address once the host holds another delegated prefix: an address from a
 * prefix the line no longer routes here. It goes first, before anything is asked: on the WAN it
 * would win source address selection (same interface), so the HB46PP query, which the server
 * answers by its source address, and the router's own IPv6 traffic would leave from an address
 * whose replies never come back.
 */
export function deadCeAddress(
  previous: AppliedState | null,
  host: HostState,
  context: PlanContext,
): Action | null {
  if (previous === null || context.widen || previous.plan.wan !== context.wan) return null;
  if (previous.adopted?.ceAddress === true) return null;
  const ce = planParts(previous.plan).wanAddress?.replace(/\/128$/, "") ?? null;
  if (ce === null) return null;
  let value: bigint;
  try {
    value = parseIpv6(ce);
  } catch {
    return null;
  }
  if ((value & ipv6Mask(context.prefix.length)) === context.prefix.value) return null;
  if (!host.addresses.some((a) => isDeadCeAddress(a, previous))) return null;
  return {
    id: "old-ce-address",
    summary: `remove the CE address ${ce} of a prefix no longer delegated here`,
    apply: { argv: ceAddressDel(ce, previous.plan.wan) },
    undo: null,
  };
}

/**
 * An address the HB46PP query can leave from: global, from the delegated prefix, past duplicate
 * address detection. Without one the kernel picks the link-local address (or a tentative one is
 * skipped), and a provisioning server beyond the first router never sees the query, or cannot tell
 * which CE asks.
 */
export function hb46ppSource(host: HostState, prefix: Ipv6Prefix): string | null {
  const mask = ipv6Mask(prefix.length);
  for (const a of host.addresses) {
    if (a.family !== 6 || a.scope !== "global" || a.tentative || a.dadFailed) continue;
    try {
      if ((parseIpv6(a.address) & mask) === prefix.value) return a.address;
    } catch {
      // not an address ip would print; skip it
    }
  }
  return null;
}

/** Re-checks after applying: at most this many more rounds for what the kernel undid meanwhile. */
const SETTLE_ROUNDS = 2;

/** What `flushed` removed, for `up`'s output and the daemon's log; null when nothing was tried. */
export function flushedNote(result: Pick<ConvergeResult, "flushed" | "plan">): string | null {
  const { flushed, plan } = result;
  if (flushed === null || flushed.flows === null) return null;
  const entries = `${flushed.flows} NAT entr${flushed.flows === 1 ? "y" : "ies"}`;
  return flushed.address === planParts(plan).tunnelIpv4.address
    ? `dropped ${entries} on ports of the old PSID (the BR would drop their packets)`
    : `dropped ${entries} of the old address ${flushed.address}`;
}

/** What a VyOS-owned tunnel's drift means and where the commands that end it come from. */
export function vyosDriftNote(drift: readonly string[]): string {
  return `VyOS's configuration does not match the prefix: ${drift.join("; ")}; \`mapectl render --target vyos\` prints the set commands for it (configure, paste, commit, save)`;
}

/**
 * Only HB46PP cares where its query leaves from: a dead CE address of the previous plan is removed
 * before asking (applied unless dry run), and a host with no usable source address is not ready.
 * Otherwise the old address goes last, after the new path is up (reconcileUp orders it so).
 */
async function clearHb46ppSource(
  settings: Settings,
  runner: CommandRunner,
  observed: HostState,
  context: PlanContext,
  previous: AppliedState | null,
  dryRun: boolean,
): Promise<{ early: Action | null; host: HostState }> {
  if (!sourceOrder(settings).includes("hb46pp")) return { early: null, host: observed };
  // VyOS's own addresses are VyOS's to change
  const early = settings.tunnelOwner !== "vyos" ? deadCeAddress(previous, observed, context) : null;
  if (early !== null && !dryRun) await applyActions(runner, [early]);
  const host =
    early === null || dryRun
      ? observed
      : { ...observed, addresses: observed.addresses.filter((a) => !isDeadCeAddress(a, previous)) };
  if (hb46ppSource(host, context.prefix) === null) {
    throw new HostNotReady(
      "prefix",
      `no usable address from ${formatIpv6Prefix(context.prefix)} on this host yet to ask HB46PP from (the server knows the CE by it): waiting for duplicate address detection, or put one on a LAN (${formatIpv6Prefix(context.prefix).split("/")[0] ?? ""}1/64)`,
    );
  }
  return { early, host };
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
  const observed = await observeHost(runner);
  const context = planContext(settings, observed);
  const previous = loadState();
  const dryRun = options.dryRun;
  const { early, host } = await clearHb46ppSource(settings, runner, observed, context, previous, dryRun);
  const resolution = await resolver(context.prefix, context.wan);
  const reconcile: ReconcileOptions = { replaceDefault: settings.replaceDefault, nodad: options.nodad };
  const at = { context, host, resolution, previous, reconcile };
  const chosen = await chooseTarget(settings, runner, at, !dryRun);
  // IPIP: the provider learns the CE address before the host changes (a refusal changes nothing)
  const registration = isIpipPlan(chosen.plan)
    ? await registerIpip(chosen.plan, formatIpv6Prefix(context.prefix), settings, { dryRun })
    : null;
  const drift = chosen.plan.tunnelOwner === "vyos" ? vyosDrift(chosen.plan, host) : [];
  if (options.dryRun)
    return dryRunResult({ ...chosen, vyosDrift: drift }, early, chosen.round.actions, chosen.check);
  const done = await applyChosen(chosen, runner, previous, reconcile);
  const { plan, prefixFrom, source, nftScript, rounds } = done;
  let flushed = done.flushed;
  const applied: Action[] = [...(early === null ? [] : [early]), ...rounds];
  if (flushed === undefined)
    flushed = applied.length > 0 ? await flushStaleFlows(runner, previous, plan) : null;
  // Every round, not only when the table changed: a file an older mapectl left behind, or one a
  // failed write missed, is put right as soon as the daemon looks again.
  const bootTable = plan.tunnelOwner === "vyos" ? syncBootTable(nftScript) : null;
  return {
    plan,
    source,
    prefixFrom,
    actions: applied,
    changed: applied.length > 0,
    flushed,
    stale: resolution.stale ?? chosen.stale,
    notice: resolution.notice ?? registration?.warning ?? null,
    ...(registration === null ? {} : { update: registration.record }),
    vyosDrift: drift,
    ...(bootTable === null ? {} : { bootTable }),
  };
}

/**
 * Applies the chosen target; when it is the fold applied before its check answered and nft refused
 * its table (the apply rolled back at the load), round robin for the host as it is now.
 */
async function applyChosen(
  chosen: ChosenTarget,
  runner: CommandRunner,
  previous: AppliedState | null,
  reconcile: ReconcileOptions,
) {
  try {
    return await applyTarget(chosen, runner, previous, reconcile);
  } catch (err) {
    if (chosen.fallback === null || chosen.check === null || (await chosen.check) === null) throw err;
    noteFoldRefused();
    const fallback = await chosen.fallback(await observeHost(runner));
    return applyTarget(fallback, runner, previous, reconcile);
  }
}

/** One target's rounds, its table's load held for its check; the NAT entries flushed on the way. */
async function applyTarget(
  target: Target,
  runner: CommandRunner,
  previous: AppliedState | null,
  reconcile: ReconcileOptions,
) {
  const { plan, nftScript, check } = target;
  const first = check === null ? runner : holdLoadForCheck(runner, check, nftScript);
  // The old address's flows end as soon as the new NAT is loaded, before the tunnel moves to the
  // new CE address: no flow NATed to the old address may leave from the new one (the BR would drop
  // it); their next packets are NATed anew.
  let flushed: ConvergeResult["flushed"] | undefined;
  const afterEach = async (action: Action) => {
    if (action.id === "nat" && flushed === undefined) flushed = await flushStaleFlows(runner, previous, plan);
  };
  const rounds = await applyUntilSettled(
    { plan, nftScript, previous, reconcile },
    { first, runner, afterEach },
    target.round,
  );
  return { ...target, rounds, flushed };
}

/** What a dry run reports: the table checked, nothing applied, the host left as it was. */
async function dryRunResult(
  head: Pick<ConvergeResult, "plan" | "source" | "prefixFrom" | "vyosDrift">,
  early: Action | null,
  actions: readonly Action[],
  check: Promise<Error | null> | null,
): Promise<ConvergeResult> {
  const refused = check === null ? null : await check;
  if (refused !== null) throw refused;
  return {
    plan: head.plan,
    source: head.source,
    prefixFrom: head.prefixFrom,
    actions: [
      ...(early === null ? [] : [early]),
      // the early removal already stands for it (a dry run leaves the host as it was)
      ...actions.filter((a) => early === null || a.id !== "old-ce-address"),
    ],
    changed: false,
    flushed: null,
    stale: null,
    vyosDrift: head.vyosDrift,
  };
}

type Round = ReturnType<typeof reconcileUp>;

/**
 * Applies the first round through `first` (the checked runner), records the state, and looks again
 * until nothing is left to do or SETTLE_ROUNDS more rounds have run. Returns every action applied.
 */
async function applyUntilSettled(
  target: {
    readonly plan: Plan;
    readonly nftScript: string;
    readonly previous: AppliedState | null;
    readonly reconcile: ReconcileOptions;
  },
  runners: {
    readonly first: CommandRunner;
    readonly runner: CommandRunner;
    readonly afterEach: (action: Action) => Promise<void>;
  },
  firstRound: Round,
): Promise<Action[]> {
  const { first, runner, afterEach } = runners;
  const { plan, nftScript } = target;
  const applied: Action[] = [];
  let state = target.previous;
  let round = firstRound;
  for (let i = 0; ; i++) {
    if (round.actions.length > 0) await applyActions(i === 0 ? first : runner, round.actions, afterEach);
    applied.push(...round.actions);
    // Also when only the plan's record changed (the same parameters now from HB46PP instead of the
    // tables): status and the web page show where the running parameters came from.
    if (round.actions.length > 0 || state === null || JSON.stringify(state.plan) !== JSON.stringify(plan)) {
      state = {
        schemaVersion: SCHEMA_VERSION,
        appliedAt: new Date().toISOString(),
        plan,
        nftScript,
        replacedDefaults: round.replacedDefaults,
        enabledForwarding: round.enabledForwarding,
        adopted: round.adopted,
      };
      saveState(state);
    }
    if (round.actions.length === 0 || i >= SETTLE_ROUNDS) break;
    round = reconcileUp(plan, nftScript, state, await observeHost(runner), target.reconcile);
  }
  return applied;
}

/** Removes everything `up` applied (the network said no MAP-E, or the daemon was told to stop). */
export async function withdraw(runner: CommandRunner): Promise<readonly Action[]> {
  const previous = loadState();
  if (previous === null) return [];
  const actions = reconcileDown(previous, await observeHost(runner));
  await applyActions(runner, actions);
  clearState();
  forgetBootTable(previous);
  return actions;
}

/**
 * After down or a withdrawal on VyOS: the boot hook would otherwise load at boot the table just
 * removed (and, without the daemon, keep it). What went wrong is returned for the caller to say.
 */
export function forgetBootTable(previous: AppliedState): BootTableChange | null {
  return previous.plan.tunnelOwner === "vyos" ? removeBootTable() : null;
}
