// The steps of reconcileUp that each look at one part of the host: routes and addresses a previous
// plan left, the tunnel, and the IPv4 routes. Each returns the actions (with undo) for its part.
import {
  brRoute,
  ceAddressDel,
  ipv4Address,
  ipv4Default,
  linkDel,
  linkSet,
  tunnelAdd,
  tunnelChange,
  type Argv,
} from "./iproute2.ts";
import { defaultRouteArgv, hasAddress, isDefault4, ourBrRoute, ourDefault, sameIpv6 } from "./host-match.ts";
import type { HostState, ObservedLink, ObservedRoute } from "./observed.ts";
import { PlanError } from "./plan.ts";
import type { Plan } from "./method.ts";
import { planParts } from "./plan-parts.ts";
import type { Action, AppliedState } from "./reconcile.ts";

type TunnelState = "absent" | "same" | "differs";

/**
 * IPv4 defaults that are not ours would shadow ours, or be shadowed by it; without
 * `--replace-default` they stop the plan. The previous plan's default goes with its tunnel when that
 * is renamed (removing the tunnel takes its routes): it is ours, not the user's.
 */
export function foreignDefaultRoutes(
  plan: Plan,
  previous: AppliedState | null,
  host: HostState,
  replaceDefault: boolean,
): ObservedRoute[] {
  const prev = previous?.plan ?? null;
  const foreign = host.routes.filter(
    (r) => isDefault4(r) && !ourDefault(r, plan) && (prev === null || !ourDefault(r, prev)),
  );
  if (foreign.length > 0 && !replaceDefault) {
    const list = foreign
      .map((r) => `${r.gateway === null ? "" : `via ${r.gateway} `}dev ${r.dev ?? "?"} metric ${r.metric}`)
      .join("; ");
    throw new PlanError(
      `an IPv4 default route already exists (${list}); mapectl will not shadow it: remove it, or run with --replace-default to replace it (down restores it)`,
    );
  }
  return foreign;
}

/**
 * What the previous plan made and this one no longer wants. The old tunnel and BR route go first
 * (the new ones could collide with them); the old addresses go last, after the new path is up: the
 * kernel flushes every IPv4 route of a device when its last IPv4 address goes, so removing the old
 * one before adding the new one (a prefix change) would take the default route with it, and the old
 * CE address is in nobody's way.
 */
export function previousPlanActions(
  plan: Plan,
  previous: AppliedState | null,
  host: HostState,
): { first: Action[]; afterwards: Action[] } {
  const first: Action[] = [];
  const afterwards: Action[] = [];
  const prev = previous?.plan ?? null;
  if (prev === null) return { first, afterwards };
  const was = previous?.adopted;
  const then = planParts(prev);
  const now = planParts(plan);
  if (
    was?.tunnel !== true &&
    prev.tunnel.name !== plan.tunnel.name &&
    host.links.some((l) => l.name === prev.tunnel.name && l.kind === "ip6tnl")
  ) {
    first.push({
      id: "old-tunnel",
      summary: `remove the old tunnel ${prev.tunnel.name}`,
      apply: { argv: linkDel(prev.tunnel.name) },
      undo: null,
    });
  }
  const oldCe = then.wanAddress;
  if (
    oldCe !== null &&
    was?.ceAddress !== true &&
    (!sameIpv6(oldCe, now.wanAddress) || prev.wan !== plan.wan) &&
    hasAddress(host, prev.wan, oldCe, 6)
  ) {
    afterwards.push({
      id: "old-ce-address",
      summary: `remove the old CE address ${oldCe} from ${prev.wan}`,
      apply: { argv: ceAddressDel(oldCe, prev.wan) },
      undo: { argv: ["ip", "-6", "addr", "add", `${oldCe}/128`, "dev", prev.wan, "nodad"] },
    });
  }
  const oldBr = then.pinnedRemote;
  const oldRoute =
    oldBr === null ? undefined : host.routes.find((r) => ourBrRoute(r, oldBr, prev.gateway, prev.wan));
  const changed =
    !sameIpv6(oldBr, now.pinnedRemote) || !sameIpv6(prev.gateway, plan.gateway) || prev.wan !== plan.wan;
  if (changed && oldBr !== null && oldRoute !== undefined) {
    first.push({
      id: "old-br-route",
      summary: `remove the old route to BR ${oldBr}`,
      apply: { argv: brRoute("del", oldBr, prev.gateway, prev.wan) },
      undo: { argv: brRoute("replace", oldBr, prev.gateway, prev.wan) },
    });
  }
  const old4 = then.tunnelIpv4;
  if (
    was?.ipv4Address !== true &&
    prev.tunnel.name === plan.tunnel.name &&
    old4.address !== now.tunnelIpv4.address &&
    hasAddress(host, plan.tunnel.name, old4.address, 4)
  ) {
    afterwards.push({
      id: "old-ipv4-address",
      summary: `remove the old IPv4 address ${old4.address}`,
      apply: { argv: ipv4Address("del", old4.address, old4.prefixLength, plan.tunnel.name) },
      undo: { argv: ipv4Address("add", old4.address, old4.prefixLength, plan.tunnel.name) },
    });
  }
  return { first, afterwards };
}

/** The argv that puts a tunnel back as it was observed, or null when that is not fully known. */
function tunnelRestore(name: string, old: NonNullable<ObservedLink["tunnel"]>): Argv | null {
  if (old.local === null || old.remote === null) return null;
  return [
    "ip",
    "-6",
    "tunnel",
    "change",
    name,
    "mode",
    "ip4ip6",
    "local",
    old.local,
    "remote",
    old.remote,
    ...(old.link === null ? [] : ["dev", old.link]),
    "encaplimit",
    old.encapLimit === null ? "4" : String(old.encapLimit),
  ];
}

/** Creates the tunnel up, or changes one that differs from the plan and brings it up. */
export function tunnelActions(plan: Plan, host: HostState, tunnelState: TunnelState): Action[] {
  const actions: Action[] = [];
  const link = host.links.find((l) => l.name === plan.tunnel.name);
  if (tunnelState === "absent") {
    actions.push({
      id: "tunnel",
      summary: `create the ip4ip6 tunnel ${plan.tunnel.name} from ${plan.tunnel.local} to ${plan.tunnel.remote}, up`,
      apply: { argv: tunnelAdd(plan, true) },
      undo: { argv: linkDel(plan.tunnel.name) },
    });
  } else if (tunnelState === "differs" && link?.tunnel != null) {
    const restore = tunnelRestore(plan.tunnel.name, link.tunnel);
    actions.push({
      id: "tunnel",
      summary: `change the tunnel ${plan.tunnel.name} to ${plan.tunnel.local} → ${plan.tunnel.remote}`,
      apply: { argv: tunnelChange(plan) },
      undo: restore === null ? null : { argv: restore },
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
  if (tunnelState !== "absent" && link?.up !== true) {
    actions.push({
      id: "tunnel-up",
      summary: `bring ${plan.tunnel.name} up`,
      apply: { argv: linkSet(plan.tunnel.name, ["up"]) },
      undo: { argv: linkSet(plan.tunnel.name, ["down"]) },
    });
  }
  return actions;
}

/**
 * The IPv4 address on the tunnel; then, apart (they put traffic on the tunnel, so they come after
 * its NAT), the user's defaults removed and our default route.
 */
export function ipv4RouteActions(
  plan: Plan,
  host: HostState,
  tunnelState: TunnelState,
  foreignDefaults: readonly ObservedRoute[],
): { address: Action[]; routes: Action[] } {
  const onTunnel: Action[] = [];
  const actions: Action[] = [];
  const fresh = tunnelState === "absent";
  const { address, prefixLength } = planParts(plan).tunnelIpv4;
  const dev = plan.tunnel.name;
  if (fresh || !hasAddress(host, dev, address, 4)) {
    onTunnel.push({
      id: "ipv4-address",
      summary: `put ${address}/${prefixLength} on ${dev}`,
      apply: { argv: ipv4Address("add", address, prefixLength, dev) },
      undo: fresh ? null : { argv: ipv4Address("del", address, prefixLength, dev) },
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
  if (fresh || ours?.metric !== plan.defaultRouteMetric) {
    if (ours !== undefined && !fresh) {
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
      undo: fresh ? null : { argv: ipv4Default("del", plan.tunnel.name, plan.defaultRouteMetric) },
    });
  }
  return { address: onTunnel, routes: actions };
}
