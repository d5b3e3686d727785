import { brRoute, ceAddressDel, forwarding, linkDel } from "./iproute2.ts";
import {
  defaultRouteArgv,
  hasAddress,
  isDefault4,
  nftRestore,
  nftTableDeletion,
  ourBrRoute,
} from "./host-match.ts";
import type { HostState } from "./observed.ts";
import { offAdoptedTunnel } from "./ownership.ts";
import { planParts } from "./plan-parts.ts";
import type { Action, AppliedState } from "./reconcile.ts";

/** The actions that remove what `up` applied (and only that), newest first. */
export function reconcileDown(previous: AppliedState, host: HostState): Action[] {
  const plan = previous.plan;
  const actions: Action[] = [];
  if (host.nftTable !== null) {
    actions.push(nftTableDeletion(nftRestore(host.nftTable)));
  }
  if (plan.tunnelOwner === "vyos") return actions;
  const adopted = previous.adopted;
  const link = host.links.find((l) => l.name === plan.tunnel.name && l.kind === "ip6tnl");
  if (link !== undefined && adopted?.tunnel !== true) {
    actions.push({
      id: "tunnel",
      summary: `delete the tunnel ${plan.tunnel.name} (with its IPv4 address and default route)`,
      apply: { argv: linkDel(plan.tunnel.name) },
      undo: null,
    });
  } else if (link !== undefined) {
    actions.push(...offAdoptedTunnel(plan, host, adopted?.ipv4Address === true));
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
  const { pinnedRemote: br, wanAddress: ce } = planParts(plan);
  if (br !== null && host.routes.some((r) => ourBrRoute(r, br, plan.gateway, plan.wan))) {
    actions.push({
      id: "br-route",
      summary: `remove the route to BR ${br}`,
      apply: { argv: brRoute("del", br, plan.gateway, plan.wan) },
      undo: { argv: brRoute("replace", br, plan.gateway, plan.wan) },
    });
  }
  if (ce !== null && adopted?.ceAddress !== true && hasAddress(host, plan.wan, ce, 6)) {
    actions.push({
      id: "ce-address",
      summary: `remove the CE address ${ce} from ${plan.wan}`,
      apply: { argv: ceAddressDel(ce, plan.wan) },
      undo: { argv: ["ip", "-6", "addr", "add", `${ce}/128`, "dev", plan.wan, "nodad"] },
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
