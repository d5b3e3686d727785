import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { ceAddressDel, forwarding, optimisticDadSysctl, wanAddressAdd, type Argv } from "./iproute2.ts";
import { hasAddress, nftRestore, sameIpv6, tunnelMatches } from "./host-match.ts";
import {
  foreignDefaultRoutes,
  ipv4RouteActions,
  previousPlanActions,
  tunnelActions,
} from "./reconcile-up-steps.ts";
import type { HostState, ObservedRoute } from "./observed.ts";
import { sameNftTable } from "./nft-table.ts";
import { adoption, brRouteAction } from "./ownership.ts";
import { pinnedBrRouteDrift, vyosTunnelParameterDrift } from "./vyos-drift.ts";
import { NFT_TABLE, PlanError } from "./plan.ts";
import { isMapePlan, type Plan } from "./method.ts";
import { planParts } from "./plan-parts.ts";

export interface Command {
  readonly argv: Argv;
  readonly input?: string;
}

/** One change to the host with the command that takes it back. */
export interface Action {
  readonly id: string;
  readonly summary: string;
  readonly apply: Command;
  readonly undo: Command | null;
  /** Wait for duplicate address detection of this address before going on. */
  readonly waitForDad?: { readonly dev: string; readonly address: string };
  /**
   * Wait for duplicate address detection of this address before this action: the CE address is
   * added early and its detection runs while the tunnel and NAT are built, and only the first
   * action that makes traffic leave from it waits for it.
   */
  readonly afterDad?: { readonly dev: string; readonly address: string };
}

/** What `up` applied, kept under /var/lib/mapectl so `down` removes exactly that. */
export interface AppliedState {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly appliedAt: string;
  /** Any method's plan; a state file from before DS-Lite holds a MAP-E plan without `method`. */
  readonly plan: Plan;
  readonly nftScript: string;
  /** The user's IPv4 default routes that `--replace-default` removed, restored by `down`. */
  readonly replacedDefaults: readonly ObservedRoute[];
  /** True when `up` switched IPv4 forwarding on, so `down` switches it off again. */
  readonly enabledForwarding: boolean;
  /**
   * What existed before `up` and was taken as it was: `down` leaves it. Absent in state files
   * written before it was recorded, where everything counts as mapectl's.
   */
  readonly adopted?: Adopted;
}

/** The pieces of the plan that were on the host before mapectl, and so are not its to remove. */
export interface Adopted {
  readonly tunnel: boolean;
  /** The plan's WAN address (PlanParts.wanAddress: MAP-E's CE address); false when it has none. */
  readonly ceAddress: boolean;
  readonly ipv4Address: boolean;
}

export interface ReconcileOptions {
  readonly replaceDefault: boolean;
  readonly nodad: boolean;
}

/**
 * The ordered actions that take the host from what it is to the plan, touching only what mapectl
 * owns (its tunnel, its /128s, routes with its protocol number, its nft table). An empty list
 * means the host already matches: `up` then does nothing.
 */
export function reconcileUp(
  plan: Plan,
  nftScript: string,
  previous: AppliedState | null,
  host: HostState,
  options: ReconcileOptions,
): { actions: Action[]; replacedDefaults: ObservedRoute[]; enabledForwarding: boolean; adopted: Adopted } {
  // VyOS's configuration owns everything but mapectl's table; what of it lags behind the plan is
  // reported (vyosDrift), never changed behind VyOS's back.
  if (plan.tunnelOwner === "vyos") {
    return {
      actions: natActions(plan, nftScript, previous, host),
      replacedDefaults: [],
      enabledForwarding: false,
      adopted: { tunnel: true, ceAddress: true, ipv4Address: true },
    };
  }
  const tunnelState = tunnelMatches(host, plan);
  if (tunnelState === "foreign") {
    throw new PlanError(
      `an interface named "${plan.tunnel.name}" already exists and is not an ip6tnl tunnel; choose another tunnel name (--tunnel-name)`,
    );
  }
  const foreignDefaults = foreignDefaultRoutes(plan, previous, host, options.replaceDefault);

  const actions: Action[] = [];
  const leftovers = previousPlanActions(plan, previous, host);
  actions.push(...leftovers.first);
  const { wanAddress } = planParts(plan);
  const newCeAddress = wanAddress !== null && !hasAddress(host, plan.wan, wanAddress, 6);
  const dad = newCeAddress && !options.nodad ? dadMode(host, plan.wan) : "none";
  if (newCeAddress) actions.push(...ceAddressActions(wanAddress, plan.wan, dad));
  // After the CE address, so that its duplicate address detection (1–2 s in the kernel, which the
  // tunnel waits for where the address cannot be optimistic) starts one command earlier; still long
  // before anything is forwarded.
  let enabledForwarding = previous?.enabledForwarding ?? false;
  if (host.ipv4Forwarding === false) {
    enabledForwarding = true;
    actions.push({
      id: "ipv4-forwarding",
      summary: "switch IPv4 forwarding on",
      apply: { argv: forwarding(true) },
      undo: { argv: forwarding(false) },
    });
  }
  const toBr = brRouteAction(plan, host);
  if (toBr !== null) actions.push(toBr);
  // Nothing may leave through the tunnel before its NAT is in place: a new tunnel is made and
  // addressed, the table loaded, and only then do the tunnel's new CE address and the default
  // route put traffic on it (a packet sent before would leave untranslated, or from the new CE
  // address with the old IPv4 address, and the BR would drop it).
  const tunnel = tunnelActions(plan, host, tunnelState);
  const carrier = ipv4RouteActions(plan, host, tunnelState, foreignDefaults);
  const fresh = tunnelState === "absent";
  const nat = natActions(plan, nftScript, previous, host);
  // A new tunnel that waits for the new CE address's DAD (gateOnDad): a table that names no device
  // (no fast path's flowtable, no fold on the tunnel device) needs no tunnel, so it loads before
  // that wait, while DAD runs, instead of after it.
  const natFirst = fresh && dad === "wait" && !namesTunnelDevice(plan);
  actions.push(
    ...(natFirst ? nat : []),
    ...(fresh ? tunnel : []),
    ...carrier.address,
    ...(natFirst ? [] : nat),
    ...(fresh ? [] : tunnel),
    ...carrier.routes,
  );
  const ordered =
    wanAddress === null || dad === "none"
      ? actions
      : dad === "wait"
        ? gateOnDad(actions, plan.wan, wanAddress, fresh)
        : verdictLast(actions, plan.wan, wanAddress);

  return {
    actions: [...ordered, ...leftovers.afterwards],
    replacedDefaults: [...(previous?.replacedDefaults ?? []), ...foreignDefaults],
    enabledForwarding,
    adopted: adoption(plan, previous, host, tunnelState !== "absent"),
  };
}

/**
 * How a new CE address's duplicate address detection goes: "optimistic" when the kernel can let the
 * address be used while DAD runs (RFC 4429), "optimistic-once" when it can but the WAN's
 * optimistic_dad is off (switched on for the one `ip addr add` and back), "wait" when the kernel has
 * no optimistic DAD or its switch is read-only (the tunnel then waits for DAD, 1-2 s), "none" for
 * --nodad.
 */
type DadMode = "none" | "wait" | "optimistic" | "optimistic-once";

function dadMode(host: HostState, wan: string): DadMode {
  const known = host.optimisticDad;
  if (known === undefined) return "wait";
  if (known.all || known.devices[wan] === true) return "optimistic";
  return known.writable ? "optimistic-once" : "wait";
}

/**
 * The CE address, optimistic where the kernel allows it: the tunnel, NAT and routes then follow it
 * at once and the first packet leaves while DAD still runs (the BR's replies reach the address too:
 * the kernel installs its local route at once), and the verdict comes at the end of the apply
 * (verdictLast). The WAN's optimistic_dad is the user's setting: when off it is on only for the one
 * command and set back right after, since the kernel reads it when the address is added.
 */
function ceAddressActions(address: string, wan: string, dad: DadMode): Action[] {
  const add: Action = {
    id: "ce-address",
    summary: `add the CE address ${address}/128 to ${wan}`,
    apply: {
      argv: wanAddressAdd(address, wan, dad === "none" ? true : dad === "wait" ? false : "optimistic"),
    },
    undo: { argv: ceAddressDel(address, wan) },
  };
  if (dad !== "optimistic-once") return [add];
  return [
    {
      id: "optimistic-dad",
      summary: `allow an optimistic address on ${wan} for the CE address (optimistic_dad on)`,
      apply: { argv: optimisticDadSysctl(wan, true) },
      undo: { argv: optimisticDadSysctl(wan, false) },
    },
    add,
    {
      id: "optimistic-dad-restore",
      summary: `set ${wan}'s optimistic_dad back off`,
      apply: { argv: optimisticDadSysctl(wan, false) },
      undo: null,
    },
  ];
}

/**
 * With an optimistic CE address nothing waits for DAD before sending; its verdict is awaited after
 * the last action instead, so a duplicate still fails the whole apply and rolls it back (the
 * address, the tunnel made from it, its routes), as the waiting order does.
 */
function verdictLast(actions: readonly Action[], wan: string, address: string): Action[] {
  const last = actions.length - 1;
  return actions.map((a, i) => (i === last ? { ...a, waitForDad: { dev: wan, address } } : a));
}

/**
 * Whether loading the plan's table needs the tunnel device to exist: the fast path's flowtable
 * lists it, and the fold beside the fast path hooks its egress (nft resolves both at load).
 */
function namesTunnelDevice(plan: Plan): boolean {
  return isMapePlan(plan) && plan.fastPath === true;
}

/**
 * Duplicate address detection of a new CE address runs in the kernel while the next steps run (the
 * BR route, the new IPv4 address, and the `nft -c` check, which starts with the apply); the wait
 * for it comes before the first action that builds on that address: a new tunnel made from it, or,
 * with a running tunnel, the new NAT (whose flows leave from it once the tunnel moves). With none
 * of those, the address's own action waits, so a duplicate always fails the apply and rolls it
 * back, before the tunnel exists.
 */
function gateOnDad(actions: readonly Action[], wan: string, address: string, fresh: boolean): Action[] {
  const wait = { dev: wan, address };
  const sends = fresh
    ? ["tunnel"]
    : ["nat", "tunnel", "tunnel-mtu", "tunnel-up", "replace-default", "old-ipv4-default", "ipv4-default"];
  const gate = actions.findIndex((a) => sends.includes(a.id));
  return actions.map((a, i) => {
    if (gate >= 0) return i === gate ? { ...a, afterDad: wait } : a;
    return a.id === "ce-address" ? { ...a, waitForDad: wait } : a;
  });
}

/** Loads mapectl's table when the host has none or another version of it. */
function natActions(plan: Plan, nftScript: string, previous: AppliedState | null, host: HostState): Action[] {
  const planned = host.nftTable !== null && previous?.nftScript === nftScript;
  if (planned && sameNftTable(host.nftTable, nftScript)) return [];
  return [
    {
      id: "nat",
      summary: planned
        ? `restore the table "ip ${NFT_TABLE}": the running one differs from the plan (changed by hand?)`
        : `load the ${planParts(plan).table} "ip ${NFT_TABLE}"`,
      apply: { argv: ["nft", "-f", "-"], input: nftScript },
      undo: nftRestore(host.nftTable),
    },
  ];
}

/**
 * What of VyOS's part (tunnel, CE address, IPv4 address) does not match the plan, one line each;
 * empty when it all does. Only for a plan whose tunnel VyOS owns.
 */
export function vyosDrift(plan: Plan, host: HostState): string[] {
  const drift: string[] = [];
  const name = plan.tunnel.name;
  const parts = planParts(plan);
  const link = host.links.find((l) => l.name === name);
  if (link === undefined || link.tunnel === null) {
    drift.push(`tunnel ${name} does not exist`);
  } else {
    if (!sameIpv6(link.tunnel.local, plan.tunnel.local))
      drift.push(
        `tunnel ${name} source-address is ${link.tunnel.local ?? "unset"}, not ${parts.wanAddress === null ? "the WAN address" : "the CE address"} ${plan.tunnel.local}`,
      );
    if (!sameIpv6(link.tunnel.remote, plan.tunnel.remote))
      drift.push(
        `tunnel ${name} remote is ${link.tunnel.remote ?? "unset"}, not the ${parts.pinnedRemote === null ? "AFTR" : "BR"} ${plan.tunnel.remote}`,
      );
    drift.push(...vyosTunnelParameterDrift(plan, link));
  }
  const pinned = parts.pinnedRemote === null ? null : pinnedBrRouteDrift(plan, parts.pinnedRemote, host);
  if (pinned !== null) drift.push(pinned);
  if (parts.wanAddress !== null && !hasAddress(host, plan.wan, parts.wanAddress, 6))
    drift.push(`${plan.wan} lacks the CE address ${parts.wanAddress}/128`);
  const { address, prefixLength } = parts.tunnelIpv4;
  if (!hasAddress(host, name, address, 4))
    drift.push(`tunnel ${name} lacks the IPv4 address ${address}/${prefixLength}`);
  return drift;
}

export { reconcileDown } from "./reconcile-down.ts";
