import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { parseIpv6 } from "../mape/ipv6.ts";
import {
  BR_ROUTE_METRIC,
  ROUTE_PROTOCOL,
  brRoute,
  ceAddressAdd,
  ceAddressDel,
  forwarding,
  ipv4Address,
  ipv4Default,
  linkDel,
  linkSet,
  tunnelAdd,
  tunnelChange,
  type Argv,
} from "./iproute2.ts";
import type { HostState, ObservedRoute } from "./observed.ts";
import { pinnedBrRouteDrift, vyosTunnelParameterDrift } from "./vyos-drift.ts";
import { NFT_TABLE, PlanError, type MapePlan } from "./plan.ts";

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
}

/** What `up` applied, kept under /var/lib/mapectl so `down` removes exactly that. */
export interface AppliedState {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly appliedAt: string;
  readonly plan: MapePlan;
  readonly nftScript: string;
  /** The user's IPv4 default routes that `--replace-default` removed, restored by `down`. */
  readonly replacedDefaults: readonly ObservedRoute[];
  /** True when `up` switched IPv4 forwarding on, so `down` switches it off again. */
  readonly enabledForwarding: boolean;
}

export interface ReconcileOptions {
  readonly replaceDefault: boolean;
  readonly nodad: boolean;
}

function sameIpv6(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return parseIpv6(a.replace(/\/128$/, "")) === parseIpv6(b.replace(/\/128$/, ""));
  } catch {
    return false;
  }
}

function hasAddress(host: HostState, dev: string, address: string, family: 4 | 6): boolean {
  return host.addresses.some(
    (a) =>
      a.dev === dev &&
      a.family === family &&
      (family === 6 ? sameIpv6(a.address, address) : a.address === address),
  );
}

function ourBrRoute(route: ObservedRoute, br: string, gateway: string, wan: string): boolean {
  return (
    route.family === 6 &&
    sameIpv6(route.dst, br) &&
    route.dev === wan &&
    sameIpv6(route.gateway, gateway) &&
    route.protocol === ROUTE_PROTOCOL &&
    String(route.metric) === BR_ROUTE_METRIC
  );
}

function isDefault4(route: ObservedRoute): boolean {
  return (
    route.family === 4 && (route.dst === "default" || route.dst === "0.0.0.0/0") && route.type === "unicast"
  );
}

function ourDefault(route: ObservedRoute, plan: MapePlan): boolean {
  return isDefault4(route) && route.dev === plan.tunnel.name && route.protocol === ROUTE_PROTOCOL;
}

/** Re-creates a default route exactly as it was observed. */
function defaultRouteArgv(route: ObservedRoute, verb: "add" | "del"): Argv {
  return [
    "ip",
    "-4",
    "route",
    verb,
    "default",
    ...(route.gateway === null ? [] : ["via", route.gateway]),
    ...(route.dev === null ? [] : ["dev", route.dev]),
    "proto",
    route.protocol,
    "metric",
    String(route.metric),
  ];
}

function nftRestore(previousTable: string | null): Command {
  if (previousTable === null) return { argv: ["nft", "delete", "table", "ip", NFT_TABLE] };
  return {
    argv: ["nft", "-f", "-"],
    input: `table ip ${NFT_TABLE} {}\ndelete table ip ${NFT_TABLE}\n${previousTable}\n`,
  };
}

function tunnelMatches(host: HostState, plan: MapePlan): "absent" | "same" | "differs" | "foreign" {
  const link = host.links.find((l) => l.name === plan.tunnel.name);
  if (link === undefined) return "absent";
  if (link.kind !== "ip6tnl" || link.tunnel === null) return "foreign";
  const t = link.tunnel;
  const same =
    (t.mode === "ipip6" || t.mode === "ip4ip6") &&
    sameIpv6(t.local, plan.tunnel.local) &&
    sameIpv6(t.remote, plan.tunnel.remote) &&
    t.link === plan.wan &&
    t.encapLimit === "none" &&
    link.mtu === plan.tunnel.mtu;
  return same ? "same" : "differs";
}

/**
 * The ordered actions that take the host from what it is to the plan, touching only what mapectl
 * owns (its tunnel, its /128s, routes with its protocol number, its nft table). An empty list
 * means the host already matches: `up` then does nothing.
 */
export function reconcileUp(
  plan: MapePlan,
  nftScript: string,
  previous: AppliedState | null,
  host: HostState,
  options: ReconcileOptions,
): { actions: Action[]; replacedDefaults: ObservedRoute[]; enabledForwarding: boolean } {
  // VyOS's configuration owns everything but mapectl's table; what of it lags behind the plan is
  // reported (vyosDrift), never changed behind VyOS's back.
  if (plan.tunnelOwner === "vyos") {
    return {
      actions: natActions(plan, nftScript, previous, host),
      replacedDefaults: [],
      enabledForwarding: false,
    };
  }
  const actions: Action[] = [];
  const prev = previous?.plan ?? null;
  const tunnelState = tunnelMatches(host, plan);
  if (tunnelState === "foreign") {
    throw new PlanError(
      `an interface named "${plan.tunnel.name}" already exists and is not an ip6tnl tunnel; choose another tunnel name (--tunnel-name)`,
    );
  }

  // IPv4 defaults that are not ours would shadow ours, or be shadowed by it.
  // The previous plan's default goes with its tunnel when that is renamed (removing the tunnel takes
  // its routes): it is ours, not the user's.
  const foreignDefaults = host.routes.filter(
    (r) => isDefault4(r) && !ourDefault(r, plan) && (prev === null || !ourDefault(r, prev)),
  );
  const alreadyReplaced = previous?.replacedDefaults ?? [];
  if (foreignDefaults.length > 0 && !options.replaceDefault) {
    const list = foreignDefaults
      .map((r) => `${r.gateway === null ? "" : `via ${r.gateway} `}dev ${r.dev ?? "?"} metric ${r.metric}`)
      .join("; ");
    throw new PlanError(
      `an IPv4 default route already exists (${list}); mapectl will not shadow it: remove it, or run with --replace-default to replace it (down restores it)`,
    );
  }

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

  // What the previous plan made and this one no longer wants. The old tunnel and BR route go
  // first (the new ones could collide with them); the old addresses go last, after the new path is
  // up: the kernel flushes every IPv4 route of a device when its last IPv4 address goes, so
  // removing the old one before adding the new one (a prefix change) would take the default route
  // with it, and the old CE address is in nobody's way.
  const afterwards: Action[] = [];
  if (prev !== null) {
    if (
      prev.tunnel.name !== plan.tunnel.name &&
      host.links.some((l) => l.name === prev.tunnel.name && l.kind === "ip6tnl")
    ) {
      actions.push({
        id: "old-tunnel",
        summary: `remove the old tunnel ${prev.tunnel.name}`,
        apply: { argv: linkDel(prev.tunnel.name) },
        undo: null,
      });
    }
    if (
      (!sameIpv6(prev.ceAddress, plan.ceAddress) || prev.wan !== plan.wan) &&
      hasAddress(host, prev.wan, prev.ceAddress, 6)
    ) {
      afterwards.push({
        id: "old-ce-address",
        summary: `remove the old CE address ${prev.ceAddress} from ${prev.wan}`,
        apply: { argv: ceAddressDel(prev.ceAddress, prev.wan) },
        undo: { argv: ["ip", "-6", "addr", "add", `${prev.ceAddress}/128`, "dev", prev.wan, "nodad"] },
      });
    }
    const oldRoute = host.routes.find((r) => ourBrRoute(r, prev.br, prev.gateway, prev.wan));
    const changed =
      !sameIpv6(prev.br, plan.br) || !sameIpv6(prev.gateway, plan.gateway) || prev.wan !== plan.wan;
    if (changed && oldRoute !== undefined) {
      actions.push({
        id: "old-br-route",
        summary: `remove the old route to BR ${prev.br}`,
        apply: { argv: brRoute("del", prev.br, prev.gateway, prev.wan) },
        undo: { argv: brRoute("replace", prev.br, prev.gateway, prev.wan) },
      });
    }
    if (
      prev.tunnel.name === plan.tunnel.name &&
      prev.ipv4Address !== plan.ipv4Address &&
      hasAddress(host, plan.tunnel.name, prev.ipv4Address, 4)
    ) {
      afterwards.push({
        id: "old-ipv4-address",
        summary: `remove the old IPv4 address ${prev.ipv4Address}`,
        apply: { argv: ipv4Address("del", prev.ipv4Address, prev.ipv4PrefixLength, plan.tunnel.name) },
        undo: { argv: ipv4Address("add", prev.ipv4Address, prev.ipv4PrefixLength, plan.tunnel.name) },
      });
    }
  }

  if (!hasAddress(host, plan.wan, plan.ceAddress, 6)) {
    actions.push({
      id: "ce-address",
      summary: `add the CE address ${plan.ceAddress}/128 to ${plan.wan}`,
      apply: { argv: ceAddressAdd(plan, options.nodad) },
      undo: { argv: ceAddressDel(plan.ceAddress, plan.wan) },
      ...(options.nodad ? {} : { waitForDad: { dev: plan.wan, address: plan.ceAddress } }),
    });
  }

  if (!host.routes.some((r) => ourBrRoute(r, plan.br, plan.gateway, plan.wan))) {
    actions.push({
      id: "br-route",
      summary: `route the BR ${plan.br} via the WAN's router ${plan.gateway}`,
      apply: { argv: brRoute("replace", plan.br, plan.gateway, plan.wan) },
      undo: { argv: brRoute("del", plan.br, plan.gateway, plan.wan) },
    });
  }

  const link = host.links.find((l) => l.name === plan.tunnel.name);
  if (tunnelState === "absent") {
    actions.push({
      id: "tunnel",
      summary: `create the ip4ip6 tunnel ${plan.tunnel.name} from ${plan.tunnel.local} to ${plan.tunnel.remote}`,
      apply: { argv: tunnelAdd(plan) },
      undo: { argv: linkDel(plan.tunnel.name) },
    });
  } else if (tunnelState === "differs" && link?.tunnel != null) {
    const old = link.tunnel;
    actions.push({
      id: "tunnel",
      summary: `change the tunnel ${plan.tunnel.name} to ${plan.tunnel.local} → ${plan.tunnel.remote}`,
      apply: { argv: tunnelChange(plan) },
      undo:
        old.local === null || old.remote === null
          ? null
          : {
              argv: [
                "ip",
                "-6",
                "tunnel",
                "change",
                plan.tunnel.name,
                "mode",
                "ip4ip6",
                "local",
                old.local,
                "remote",
                old.remote,
                ...(old.link === null ? [] : ["dev", old.link]),
                "encaplimit",
                old.encapLimit === null ? "4" : String(old.encapLimit),
              ],
            },
    });
    if (link.mtu !== plan.tunnel.mtu) {
      actions.push({
        id: "tunnel-mtu",
        summary: `set the tunnel MTU to ${plan.tunnel.mtu}`,
        apply: { argv: linkSet(plan.tunnel.name, ["mtu", String(plan.tunnel.mtu)]) },
        undo: { argv: linkSet(plan.tunnel.name, ["mtu", String(link.mtu)]) },
      });
    }
  }
  if (link?.up !== true) {
    actions.push({
      id: "tunnel-up",
      summary: `bring ${plan.tunnel.name} up`,
      apply: { argv: linkSet(plan.tunnel.name, ["up"]) },
      undo: tunnelState === "absent" ? null : { argv: linkSet(plan.tunnel.name, ["down"]) },
    });
  }
  if (tunnelState === "absent" || !hasAddress(host, plan.tunnel.name, plan.ipv4Address, 4)) {
    actions.push({
      id: "ipv4-address",
      summary: `put ${plan.ipv4Address}/${plan.ipv4PrefixLength} on ${plan.tunnel.name}`,
      apply: { argv: ipv4Address("add", plan.ipv4Address, plan.ipv4PrefixLength, plan.tunnel.name) },
      undo:
        tunnelState === "absent"
          ? null
          : { argv: ipv4Address("del", plan.ipv4Address, plan.ipv4PrefixLength, plan.tunnel.name) },
    });
  }
  for (const route of foreignDefaults) {
    actions.push({
      id: "replace-default",
      summary: `remove the existing IPv4 default route (dev ${route.dev ?? "?"}, metric ${route.metric}); down restores it`,
      apply: { argv: defaultRouteArgv(route, "del") },
      undo: { argv: defaultRouteArgv(route, "add") },
    });
  }
  const ours = host.routes.find((r) => ourDefault(r, plan));
  if (tunnelState === "absent" || ours?.metric !== plan.defaultRouteMetric) {
    if (ours !== undefined && tunnelState !== "absent") {
      actions.push({
        id: "old-ipv4-default",
        summary: `remove the old default route metric ${ours.metric}`,
        apply: { argv: ipv4Default("del", plan.tunnel.name, ours.metric) },
        undo: { argv: ipv4Default("add", plan.tunnel.name, ours.metric) },
      });
    }
    actions.push({
      id: "ipv4-default",
      summary: `send IPv4 through ${plan.tunnel.name} (default route, metric ${plan.defaultRouteMetric})`,
      apply: { argv: ipv4Default("add", plan.tunnel.name, plan.defaultRouteMetric) },
      undo:
        tunnelState === "absent"
          ? null
          : { argv: ipv4Default("del", plan.tunnel.name, plan.defaultRouteMetric) },
    });
  }

  actions.push(...natActions(plan, nftScript, previous, host));

  return {
    actions: [...actions, ...afterwards],
    replacedDefaults: [...alreadyReplaced, ...foreignDefaults],
    enabledForwarding,
  };
}

/** Loads mapectl's table when the host has none or another version of it. */
function natActions(
  plan: MapePlan,
  nftScript: string,
  previous: AppliedState | null,
  host: HostState,
): Action[] {
  if (host.nftTable !== null && previous?.nftScript === nftScript) return [];
  return [
    {
      id: "nat",
      summary: `load the NAPT and filter table "ip ${NFT_TABLE}" (${plan.portCount} ports, tcp/udp/icmp)`,
      apply: { argv: ["nft", "-f", "-"], input: nftScript },
      undo: nftRestore(host.nftTable),
    },
  ];
}

/**
 * What of VyOS's part (tunnel, CE address, IPv4 address) does not match the plan, one line each;
 * empty when it all does. Only for a plan whose tunnel VyOS owns.
 */
export function vyosDrift(plan: MapePlan, host: HostState): string[] {
  const drift: string[] = [];
  const name = plan.tunnel.name;
  const link = host.links.find((l) => l.name === name);
  if (link === undefined || link.tunnel === null) {
    drift.push(`tunnel ${name} does not exist`);
  } else {
    if (!sameIpv6(link.tunnel.local, plan.tunnel.local))
      drift.push(
        `tunnel ${name} source-address is ${link.tunnel.local ?? "unset"}, not the CE address ${plan.tunnel.local}`,
      );
    if (!sameIpv6(link.tunnel.remote, plan.tunnel.remote))
      drift.push(
        `tunnel ${name} remote is ${link.tunnel.remote ?? "unset"}, not the BR ${plan.tunnel.remote}`,
      );
    drift.push(...vyosTunnelParameterDrift(plan, link));
  }
  const pinned = pinnedBrRouteDrift(plan, host);
  if (pinned !== null) drift.push(pinned);
  if (!hasAddress(host, plan.wan, plan.ceAddress, 6))
    drift.push(`${plan.wan} lacks the CE address ${plan.ceAddress}/128`);
  if (!hasAddress(host, name, plan.ipv4Address, 4))
    drift.push(`tunnel ${name} lacks the IPv4 address ${plan.ipv4Address}/${plan.ipv4PrefixLength}`);
  return drift;
}

/** The actions that remove what `up` applied (and only that), newest first. */
export function reconcileDown(previous: AppliedState, host: HostState): Action[] {
  const plan = previous.plan;
  const actions: Action[] = [];
  if (host.nftTable !== null) {
    actions.push({
      id: "nat",
      summary: `delete the nft table ip ${NFT_TABLE}`,
      apply: { argv: ["nft", "delete", "table", "ip", NFT_TABLE] },
      undo: nftRestore(host.nftTable),
    });
  }
  if (plan.tunnelOwner === "vyos") return actions;
  const link = host.links.find((l) => l.name === plan.tunnel.name && l.kind === "ip6tnl");
  if (link !== undefined) {
    actions.push({
      id: "tunnel",
      summary: `delete the tunnel ${plan.tunnel.name} (with its IPv4 address and default route)`,
      apply: { argv: linkDel(plan.tunnel.name) },
      undo: null,
    });
  }
  for (const route of previous.replacedDefaults) {
    if (!host.routes.some((r) => isDefault4(r) && r.dev === route.dev && r.metric === route.metric)) {
      actions.push({
        id: "restore-default",
        summary: `restore the IPv4 default route via dev ${route.dev ?? "?"} metric ${route.metric}`,
        apply: { argv: defaultRouteArgv(route, "add") },
        undo: { argv: defaultRouteArgv(route, "del") },
      });
    }
  }
  if (host.routes.some((r) => ourBrRoute(r, plan.br, plan.gateway, plan.wan))) {
    actions.push({
      id: "br-route",
      summary: `remove the route to BR ${plan.br}`,
      apply: { argv: brRoute("del", plan.br, plan.gateway, plan.wan) },
      undo: { argv: brRoute("replace", plan.br, plan.gateway, plan.wan) },
    });
  }
  if (hasAddress(host, plan.wan, plan.ceAddress, 6)) {
    actions.push({
      id: "ce-address",
      summary: `remove the CE address ${plan.ceAddress} from ${plan.wan}`,
      apply: { argv: ceAddressDel(plan.ceAddress, plan.wan) },
      undo: { argv: ["ip", "-6", "addr", "add", `${plan.ceAddress}/128`, "dev", plan.wan, "nodad"] },
    });
  }
  if (previous.enabledForwarding && host.ipv4Forwarding === true) {
    actions.push({
      id: "ipv4-forwarding",
      summary: "switch IPv4 forwarding off again (it was off before up)",
      apply: { argv: forwarding(false) },
      undo: { argv: forwarding(true) },
    });
  }
  return actions;
}
