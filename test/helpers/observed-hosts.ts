import type { HostState, ObservedAddress, ObservedLink, ObservedRoute } from "../../src/plan/observed.ts";
import type { Plan } from "../../src/plan/method.ts";
import { planParts } from "../../src/plan/plan-parts.ts";
import type { AppliedState } from "../../src/plan/reconcile.ts";
import { renderPlanTable } from "../../src/render/render.ts";

// Hosts as `ip -j` shows them, for reconcile's tests.

export function link(name: string, extra: Partial<ObservedLink> = {}): ObservedLink {
  return { name, index: 1, mtu: 1500, up: true, kind: null, tunnel: null, stats: null, ...extra };
}
export function addr(dev: string, address: string, prefixLength: number, family: 4 | 6 = 6): ObservedAddress {
  return {
    dev,
    family,
    address,
    prefixLength,
    scope: "global",
    tentative: false,
    dadFailed: false,
    temporary: false,
    deprecated: false,
  };
}
export function route(r: Partial<ObservedRoute> & { dst: string; family: 4 | 6 }): ObservedRoute {
  return { gateway: null, dev: null, protocol: "boot", metric: 0, type: "unicast", ...r };
}

/** A router before mapectl: WAN with a link-local default route, the PD's unreachable route, a LAN. */
export function freshHost(extra: Partial<HostState> = {}): HostState {
  return {
    links: [link("lo"), link("wan0"), link("lan0")],
    addresses: [addr("lan0", "192.168.1.1", 24, 4)],
    routes: [
      route({ family: 6, dst: "default", gateway: "fe80::1", dev: "wan0", protocol: "ra", metric: 1024 }),
      route({ family: 6, dst: "2404:7a82:4d02:4100::/56", dev: "lo", type: "unreachable", metric: 1024 }),
      route({ family: 4, dst: "192.168.1.0/24", dev: "lan0", protocol: "kernel" }),
    ],
    ipv4Forwarding: true,
    nftTable: null,
    ...extra,
  };
}

/** The plan's tunnel as `ip -j` shows it once made (`encapLimit` as the kernel reports it). */
export function plannedTunnel(
  plan: Pick<Plan, "tunnel" | "wan">,
  encapLimit: number | "none" | null = "none",
  extra: Partial<ObservedLink> = {},
): ObservedLink {
  return link(plan.tunnel.name, {
    mtu: plan.tunnel.mtu,
    kind: "ip6tnl",
    tunnel: {
      mode: "ipip6",
      local: plan.tunnel.local,
      remote: plan.tunnel.remote,
      link: plan.wan,
      encapLimit,
    },
    ...extra,
  });
}

/** The same host after a successful up of `plan`, as `ip -j` would show it. */
export function hostAfterUp(plan: Plan, base: HostState = freshHost()): HostState {
  const { wanAddress, pinnedRemote, tunnelIpv4 } = planParts(plan);
  return {
    ...base,
    links: [...base.links, plannedTunnel(plan)],
    addresses: [
      ...base.addresses,
      ...(wanAddress === null ? [] : [addr(plan.wan, wanAddress, 128)]),
      addr(plan.tunnel.name, tunnelIpv4.address, tunnelIpv4.prefixLength, 4),
    ],
    routes: [
      ...base.routes,
      ...(pinnedRemote === null
        ? []
        : [
            route({
              family: 6,
              dst: pinnedRemote,
              gateway: plan.gateway,
              dev: plan.wan,
              protocol: "77",
              metric: 1,
            }),
          ]),
      route({
        family: 4,
        dst: "default",
        dev: plan.tunnel.name,
        protocol: "77",
        metric: plan.defaultRouteMetric,
      }),
    ],
    // as loaded; test/unit/plan/nft-table.test.ts holds what nft really prints for it
    nftTable: renderPlanTable(plan),
  };
}

export function stateOf(plan: Plan): AppliedState {
  return {
    schemaVersion: 1,
    appliedAt: "2026-11-29T00:00:00Z",
    plan,
    nftScript: renderPlanTable(plan),
    replacedDefaults: [],
    enabledForwarding: false,
  };
}
