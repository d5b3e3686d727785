import type { MapePlan } from "./plan.ts";

/**
 * Routes mapectl adds carry this protocol number, so they are recognisable as its own (in
 * `ip route` they show as "proto 77") and never confused with the user's or a daemon's.
 */
export const ROUTE_PROTOCOL = "77";
/** The BR route's metric: below the kernel's default 1024, so an on-link guess cannot win. */
export const BR_ROUTE_METRIC = "1";

export type Argv = readonly string[];

export function ceAddressAdd(plan: MapePlan, nodad: boolean): Argv {
  return ["ip", "-6", "addr", "add", `${plan.ceAddress}/128`, "dev", plan.wan, ...(nodad ? ["nodad"] : [])];
}
export function ceAddressDel(ce: string, wan: string): Argv {
  return ["ip", "-6", "addr", "del", `${ce}/128`, "dev", wan];
}

export function brRoute(verb: "replace" | "del", br: string, gateway: string, wan: string): Argv {
  return [
    "ip",
    "-6",
    "route",
    verb,
    `${br}/128`,
    "via",
    gateway,
    "dev",
    wan,
    "proto",
    ROUTE_PROTOCOL,
    "metric",
    BR_ROUTE_METRIC,
  ];
}

function tunnelParams(plan: MapePlan): string[] {
  return [
    "mode",
    "ip4ip6",
    "local",
    plan.tunnel.local,
    "remote",
    plan.tunnel.remote,
    "dev",
    plan.wan,
    "encaplimit",
    "none",
  ];
}

export function tunnelAdd(plan: MapePlan): Argv {
  return [
    "ip",
    "link",
    "add",
    "name",
    plan.tunnel.name,
    "mtu",
    String(plan.tunnel.mtu),
    "type",
    "ip6tnl",
    ...tunnelParams(plan),
  ];
}
/** ip6tnl endpoints change in place, so addresses and routes on the tunnel survive a prefix change. */
export function tunnelChange(plan: MapePlan): Argv {
  return ["ip", "-6", "tunnel", "change", plan.tunnel.name, ...tunnelParams(plan)];
}
export function linkSet(name: string, settings: readonly string[]): Argv {
  return ["ip", "link", "set", "dev", name, ...settings];
}
export function linkDel(name: string): Argv {
  return ["ip", "link", "del", "dev", name];
}

export function ipv4Address(verb: "add" | "del", address: string, prefixLength: number, dev: string): Argv {
  return ["ip", "-4", "addr", verb, `${address}/${prefixLength}`, "dev", dev];
}

export function ipv4Default(verb: "add" | "del", dev: string, metric: number): Argv {
  return [
    "ip",
    "-4",
    "route",
    verb,
    "default",
    "dev",
    dev,
    "proto",
    ROUTE_PROTOCOL,
    "metric",
    String(metric),
  ];
}

export function forwarding(on: boolean): Argv {
  return ["sysctl", "-q", "-w", `net.ipv4.ip_forward=${on ? 1 : 0}`];
}

/** Every command that builds the plan on a host that has none of it, in order. */
export function freshSetupCommands(plan: MapePlan): Argv[] {
  return [
    forwarding(true),
    ceAddressAdd(plan, true),
    brRoute("replace", plan.br, plan.gateway, plan.wan),
    tunnelAdd(plan),
    linkSet(plan.tunnel.name, ["up"]),
    ipv4Address("add", plan.ipv4Address, plan.ipv4PrefixLength, plan.tunnel.name),
    ipv4Default("add", plan.tunnel.name, plan.defaultRouteMetric),
  ];
}
