import { BR_ROUTE_METRIC, ROUTE_PROTOCOL, brRoute, ipv4Address, ipv4Default } from "./iproute2.ts";
import { hasAddress, ourBrRoute, ourDefault, sameIpv6 } from "./host-match.ts";
import type { HostState } from "./observed.ts";
import { PlanError } from "./plan.ts";
import type { Plan } from "./method.ts";
import { planParts } from "./plan-parts.ts";
import type { Action, Adopted, AppliedState } from "./reconcile.ts";

/** What of the plan's pieces on the host is mapectl's, and how it takes what is not. */

/**
 * Which of the plan's pieces the host had before mapectl: present now, and not recorded as made
 * by the previous `up` (a piece it adopted stays adopted).
 */
export function adoption(
  plan: Plan,
  previous: AppliedState | null,
  host: HostState,
  tunnelExists: boolean,
): Adopted {
  const prev = previous === null ? null : planParts(previous.plan);
  const now = planParts(plan);
  const was = previous?.adopted;
  const sameTunnel = previous?.plan.tunnel.name === plan.tunnel.name;
  const sameCe =
    prev !== null &&
    previous?.plan.wan === plan.wan &&
    now.wanAddress !== null &&
    sameIpv6(prev.wanAddress, now.wanAddress);
  const sameIpv4 = sameTunnel && prev?.tunnelIpv4.address === now.tunnelIpv4.address;
  return {
    tunnel: tunnelExists && !(sameTunnel && was?.tunnel !== true),
    ceAddress:
      now.wanAddress !== null &&
      hasAddress(host, plan.wan, now.wanAddress, 6) &&
      !(sameCe && was?.ceAddress !== true),
    ipv4Address:
      tunnelExists &&
      hasAddress(host, plan.tunnel.name, now.tunnelIpv4.address, 4) &&
      !(sameIpv4 && was?.ipv4Address !== true),
  };
}

/**
 * The route to the BR at mapectl's metric, unless the host has it. The kernel keeps one route per
 * destination and metric: `replace` would silently take a route of the user's, and undoing it
 * would then delete it. So mapectl adds, replaces only a route with its own protocol number (one
 * left with an old gateway), takes a user's route that already goes the same way as it is, and
 * refuses one that goes elsewhere.
 */
export function brRouteAction(plan: Plan, host: HostState): Action | null {
  const br = planParts(plan).pinnedRemote;
  if (br === null) return null;
  if (host.routes.some((r) => ourBrRoute(r, br, plan.gateway, plan.wan))) return null;
  const atOurMetric = host.routes.filter(
    (r) => r.family === 6 && sameIpv6(r.dst, br) && String(r.metric) === BR_ROUTE_METRIC,
  );
  const users = atOurMetric.find((r) => r.protocol !== ROUTE_PROTOCOL);
  if (users !== undefined) {
    if (users.dev === plan.wan && sameIpv6(users.gateway, plan.gateway)) return null;
    throw new PlanError(
      `a route to the BR ${br} with metric ${BR_ROUTE_METRIC} already exists (${users.gateway === null ? "" : `via ${users.gateway} `}dev ${users.dev ?? "?"}, proto ${users.protocol}) and is not mapectl's; mapectl will not replace it: remove it, or make it go via ${plan.gateway} dev ${plan.wan}`,
    );
  }
  const stale = atOurMetric[0];
  const ours = brRoute("replace", br, plan.gateway, plan.wan);
  return {
    id: "br-route",
    summary: `route the BR ${br} via the WAN's router ${plan.gateway}`,
    // iproute2.ts has no "add" form; the words after the verb are the same
    apply: { argv: stale === undefined ? [...ours.slice(0, 3), "add", ...ours.slice(4)] : ours },
    undo: {
      argv:
        stale?.gateway == null || stale.dev === null
          ? brRoute("del", br, plan.gateway, plan.wan)
          : brRoute("replace", br, stale.gateway, stale.dev),
    },
  };
}

/** The tunnel was there before mapectl and stays: only what mapectl put on it goes. */
export function offAdoptedTunnel(plan: Plan, host: HostState, ipv4Adopted: boolean): Action[] {
  const name = plan.tunnel.name;
  const { address, prefixLength } = planParts(plan).tunnelIpv4;
  // the route first: the kernel flushes a device's IPv4 routes with its last IPv4 address
  const actions: Action[] = host.routes
    .filter((r) => ourDefault(r, plan))
    .map((r) => ({
      id: "ipv4-default",
      summary: `remove the default route through ${name} (metric ${r.metric})`,
      apply: { argv: ipv4Default("del", name, r.metric) },
      undo: { argv: ipv4Default("add", name, r.metric) },
    }));
  if (!ipv4Adopted && hasAddress(host, name, address, 4)) {
    actions.push({
      id: "ipv4-address",
      summary: `remove ${address}/${prefixLength} from ${name} (the tunnel was there before mapectl and stays)`,
      apply: { argv: ipv4Address("del", address, prefixLength, name) },
      undo: { argv: ipv4Address("add", address, prefixLength, name) },
    });
  }
  return actions;
}
