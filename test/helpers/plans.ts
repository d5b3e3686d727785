import { parseIpv6Prefix } from "../../src/mape/ipv6.ts";
import { buildPlan, type MapePlan, type NatAllocator, type PortForward } from "../../src/plan/plan.ts";
import { resolveParameters } from "../../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../src/rules/shipped.ts";

export const USER_PREFIX = "2404:7a82:4d02:4100::/56";
export const OCN_PREFIX = "2400:4050:1234:5600::/56";

export function planFor(
  prefix: string,
  overrides: Partial<{
    forwards: PortForward[];
    tunnelName: string;
    mtu: number;
    tcpTimeWait: number;
    tunnelOwner: "mapectl" | "vyos";
    fastPath: boolean;
    netdevEgress: boolean;
    lan: string[];
    allocator: NatAllocator;
    maxPortsPerHost: number;
  }> = {},
): MapePlan {
  const resolved = resolveParameters({
    prefix: parseIpv6Prefix(prefix),
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
  });
  return buildPlan({
    resolved,
    wan: "wan0",
    lan: overrides.lan ?? ["lan0"],
    gateway: "fe80::1",
    tunnelName: overrides.tunnelName ?? "mape",
    mtu: overrides.mtu ?? 1460,
    defaultRouteMetric: 10,
    forwards: overrides.forwards ?? [],
    tcpTimeWait: overrides.tcpTimeWait ?? null,
    tunnelOwner: overrides.tunnelOwner ?? "mapectl",
    fastPath: overrides.fastPath ?? false,
    netdevEgress: overrides.netdevEgress ?? false,
    ...(overrides.allocator === undefined ? {} : { allocator: overrides.allocator }),
    maxPortsPerHost: overrides.maxPortsPerHost ?? null,
  });
}
