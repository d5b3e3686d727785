import { ROUTE_PROTOCOL, linkDel } from "./iproute2.ts";
import { nftTableDeletion, routeArgv } from "./host-match.ts";
import type { HostState } from "./observed.ts";
import type { Action } from "./reconcile.ts";

const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/;

/**
 * What is provably mapectl's without its state file, as removal actions: the nft table named
 * after it, routes carrying its protocol number (no other program uses 77), and an ip4ip6 tunnel
 * of the given name. Addresses are left: a /128 on the WAN could be anyone's.
 */
export function ownedCleanup(host: HostState, tunnelName: string): Action[] {
  const actions: Action[] = [];
  if (host.nftTable !== null) {
    actions.push(nftTableDeletion({ argv: ["nft", "-f", "-"], input: `${host.nftTable}\n` }));
  }
  for (const route of host.routes) {
    if (route.protocol !== ROUTE_PROTOCOL || route.type !== "unicast") continue;
    actions.push({
      id: "owned-route",
      summary: `remove the IPv${route.family} route ${route.dst} (proto ${ROUTE_PROTOCOL}${route.dev === null ? "" : `, dev ${route.dev}`})`,
      apply: { argv: routeArgv(route, "del") },
      undo: { argv: routeArgv(route, "add") },
    });
  }
  const tunnel = host.links.find((l) => l.name === tunnelName);
  const mode = tunnel?.tunnel?.mode;
  if (IFNAME.test(tunnelName) && tunnel?.kind === "ip6tnl" && (mode === "ipip6" || mode === "ip4ip6")) {
    actions.push({
      id: "tunnel",
      summary: `delete the ip4ip6 tunnel ${tunnelName}`,
      apply: { argv: linkDel(tunnelName) },
      undo: null,
    });
  }
  return actions;
}
