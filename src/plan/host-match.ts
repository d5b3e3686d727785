import { parseIpv6 } from "../mape/ipv6.ts";
import { BR_ROUTE_METRIC, ROUTE_PROTOCOL, type Argv } from "./iproute2.ts";
import { NFT_TABLE } from "./plan.ts";
import type { HostState, ObservedRoute } from "./observed.ts";
import type { TunnelPlanBase } from "./plan.ts";
import type { Action, Command } from "./reconcile.ts";

/** How reconcile recognises on the observed host what the plan describes, and what is mapectl's. */

export function sameIpv6(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return parseIpv6(a.replace(/\/128$/, "")) === parseIpv6(b.replace(/\/128$/, ""));
  } catch {
    return false;
  }
}

export function hasAddress(host: HostState, dev: string, address: string, family: 4 | 6): boolean {
  return host.addresses.some(
    (a) =>
      a.dev === dev &&
      a.family === family &&
      (family === 6 ? sameIpv6(a.address, address) : a.address === address),
  );
}

export function ourBrRoute(route: ObservedRoute, br: string, gateway: string, wan: string): boolean {
  return (
    route.family === 6 &&
    sameIpv6(route.dst, br) &&
    route.dev === wan &&
    sameIpv6(route.gateway, gateway) &&
    route.protocol === ROUTE_PROTOCOL &&
    String(route.metric) === BR_ROUTE_METRIC
  );
}

export function isDefault4(route: ObservedRoute): boolean {
  return (
    route.family === 4 && (route.dst === "default" || route.dst === "0.0.0.0/0") && route.type === "unicast"
  );
}

export function ourDefault(route: ObservedRoute, plan: Pick<TunnelPlanBase, "tunnel">): boolean {
  return isDefault4(route) && route.dev === plan.tunnel.name && route.protocol === ROUTE_PROTOCOL;
}

/** Re-creates a default route exactly as it was observed. */
/** The argv that adds or deletes an observed route as it is (its gateway, device, protocol, metric). */
export function routeArgv(route: ObservedRoute, verb: "add" | "del"): Argv {
  return [
    "ip",
    route.family === 6 ? "-6" : "-4",
    "route",
    verb,
    route.dst,
    ...(route.gateway === null ? [] : ["via", route.gateway]),
    ...(route.dev === null ? [] : ["dev", route.dev]),
    "proto",
    route.protocol,
    "metric",
    String(route.metric),
  ];
}

export function defaultRouteArgv(route: ObservedRoute, verb: "add" | "del"): Argv {
  return routeArgv({ ...route, family: 4, dst: "default" }, verb);
}

/** Deleting mapectl's nft table, with the command that puts the running one back. */
export function nftTableDeletion(undo: Command): Action {
  return {
    id: "nat",
    summary: `delete the nft table ip ${NFT_TABLE}`,
    apply: { argv: ["nft", "delete", "table", "ip", NFT_TABLE] },
    undo,
  };
}

export function nftRestore(previousTable: string | null): Command {
  if (previousTable === null) return { argv: ["nft", "delete", "table", "ip", NFT_TABLE] };
  return {
    argv: ["nft", "-f", "-"],
    input: `table ip ${NFT_TABLE} {}\ndelete table ip ${NFT_TABLE}\n${previousTable}\n`,
  };
}

export function tunnelMatches(
  host: HostState,
  plan: TunnelPlanBase,
): "absent" | "same" | "differs" | "foreign" {
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
