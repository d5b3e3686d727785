import { parseIpv6 } from "../mape/ipv6.ts";
import type { HostState, ObservedLink } from "./observed.ts";
import type { TunnelPlanBase } from "./plan.ts";

// The parts of VyOS's configuration the daemon compares with the plan besides addresses: the
// tunnel's encapsulation limit and MTU, and a route to the BR pinned to a router that is gone.

function sameAddress(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return parseIpv6(a.replace(/\/128$/, "")) === parseIpv6(b.replace(/\/128$/, ""));
  } catch {
    return false;
  }
}

/** encaplimit (strict BRs drop packets with the option) and the MTU the plan wants. */
export function vyosTunnelParameterDrift(plan: TunnelPlanBase, link: ObservedLink): string[] {
  const name = plan.tunnel.name;
  const drift: string[] = [];
  const limit = link.tunnel?.encapLimit ?? null;
  if (limit !== "none") {
    drift.push(
      `tunnel ${name} adds the encapsulation-limit option (encaplimit ${limit === null ? "4, VyOS's default" : String(limit)}), which strict BRs drop: it needs parameters ipv6 encaplimit none`,
    );
  }
  if (link.mtu !== plan.tunnel.mtu) drift.push(`tunnel ${name} mtu is ${link.mtu}, not ${plan.tunnel.mtu}`);
  return drift;
}

/**
 * A route to the BR via a next hop that is no longer the WAN's IPv6 default router: a pinned
 * route6 (render prints one only as a comment) outranks the default route and black-holes the
 * tunnel once the NGN's router answers from another link-local address.
 */
export function pinnedBrRouteDrift(plan: TunnelPlanBase, br: string, host: HostState): string | null {
  const router = host.routes.find(
    (r) => r.family === 6 && r.dst === "default" && r.dev === plan.wan && r.gateway !== null,
  )?.gateway;
  if (router === undefined || router === null) return null;
  const pinned = host.routes.find(
    (r) => r.family === 6 && r.gateway !== null && sameAddress(r.dst, br) && !sameAddress(r.gateway, router),
  );
  if (pinned?.gateway === undefined || pinned.gateway === null) return null;
  return `the route to the BR ${br} goes via ${pinned.gateway}, but ${plan.wan}'s default router is now ${router}: delete protocols static route6 ${br}/128 (the default route reaches the BR) or give it the new next hop`;
}
