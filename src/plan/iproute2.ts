import type { MapePlan } from "./plan.ts";

/**
 * Routes mapectl adds carry this protocol number, so they are recognisable as its own (in
 * `ip route` they show as "proto 77") and never confused with the user's or a daemon's.
 */
export const ROUTE_PROTOCOL = "77";
/** The BR route's metric: below the kernel's default 1024, so an on-link guess cannot win. */
export const BR_ROUTE_METRIC = "1";

export type Argv = readonly string[];

/** One IPv6 address as a /128 on an interface (the CE address on the WAN). */
export function ipv6HostAddress(verb: "add" | "del" | "replace", address: string, dev: string): Argv {
  return ["ip", "-6", "addr", verb, `${address}/128`, "dev", dev];
}
/**
 * A /128 the tunnel leaves from, added to the WAN. nodad `true` skips duplicate address detection;
 * "optimistic" runs it while the address is already usable (RFC 4429; the kernel keeps the flag only
 * where net.ipv6.conf.<dev>.optimistic_dad allows it when the address is added).
 */
export function wanAddressAdd(address: string, wan: string, nodad: boolean | "optimistic"): Argv {
  const flag = nodad === true ? ["nodad"] : nodad === "optimistic" ? ["optimistic"] : [];
  return [...ipv6HostAddress("add", address, wan), ...flag];
}

/**
 * Sets whether addresses added to `dev` from now on may be optimistic. The sysctl's path form
 * (slashes), because an interface name may hold dots (a VLAN such as eth0.10).
 */
export function optimisticDadSysctl(dev: string, on: boolean): Argv {
  return ["sysctl", "-q", "-w", `net/ipv6/conf/${dev}/optimistic_dad=${on ? 1 : 0}`];
}
export function ceAddressAdd(plan: Pick<MapePlan, "ceAddress" | "wan">, nodad: boolean): Argv {
  return wanAddressAdd(plan.ceAddress, plan.wan, nodad);
}
export function ceAddressDel(ce: string, wan: string): Argv {
  return ipv6HostAddress("del", ce, wan);
}

/** The BR's /128 via the WAN's router, without mapectl's protocol mark. */
export function brRouteVia(verb: "replace" | "del", br: string, gateway: string, wan: string): Argv {
  return ["ip", "-6", "route", verb, `${br}/128`, "via", gateway, "dev", wan];
}
export function brRoute(verb: "replace" | "del", br: string, gateway: string, wan: string): Argv {
  return [...brRouteVia(verb, br, gateway, wan), "proto", ROUTE_PROTOCOL, "metric", BR_ROUTE_METRIC];
}

/** An ip4ip6 tunnel's endpoints, without the encapsulation-limit option that BRs drop. */
export function ip4ip6Params(local: string, remote: string, dev: string | null): string[] {
  return [
    "mode",
    "ip4ip6",
    "local",
    local,
    "remote",
    remote,
    ...(dev === null ? [] : ["dev", dev]),
    "encaplimit",
    "none",
  ];
}
/** What the tunnel commands need of a plan of any method. */
export type TunnelEnds = Pick<MapePlan, "wan" | "tunnel">;

function tunnelParams(plan: TunnelEnds): string[] {
  return ip4ip6Params(plan.tunnel.local, plan.tunnel.remote, plan.wan);
}
export function ip6tnl(verb: "add" | "change", name: string, params: readonly string[]): Argv {
  return ["ip", "-6", "tunnel", verb, name, ...params];
}

/**
 * `up`: the tunnel is created up, in the same netlink request (one `ip` less on the boot path,
 * where each costs 0.1–1.6 s on a slow router).
 */
export function tunnelAdd(plan: TunnelEnds, up = false): Argv {
  return [
    "ip",
    "link",
    "add",
    "name",
    plan.tunnel.name,
    ...(up ? ["up"] : []),
    "mtu",
    String(plan.tunnel.mtu),
    "type",
    "ip6tnl",
    ...tunnelParams(plan),
  ];
}
/** ip6tnl endpoints change in place, so addresses and routes on the tunnel survive a prefix change. */
export function tunnelChange(plan: TunnelEnds): Argv {
  return ip6tnl("change", plan.tunnel.name, tunnelParams(plan));
}
export function linkSet(name: string, settings: readonly string[]): Argv {
  return ["ip", "link", "set", "dev", name, ...settings];
}
export function linkDel(name: string): Argv {
  return ["ip", "link", "del", "dev", name];
}

export function ipv4Address(
  verb: "add" | "del" | "replace",
  address: string,
  prefixLength: number,
  dev: string,
): Argv {
  return ["ip", "-4", "addr", verb, `${address}/${prefixLength}`, "dev", dev];
}

/** IPv4 default route through a device, without mapectl's protocol mark and metric. */
export function ipv4DefaultDev(verb: "add" | "del" | "replace", dev: string): Argv {
  return ["ip", "-4", "route", verb, "default", "dev", dev];
}
export function ipv4Default(verb: "add" | "del", dev: string, metric: number): Argv {
  return [...ipv4DefaultDev(verb, dev), "proto", ROUTE_PROTOCOL, "metric", String(metric)];
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
