import assert from "node:assert/strict";
import { test } from "node:test";
import type { HostState, ObservedLink, ObservedRoute } from "../../../src/plan/observed.ts";
import { vyosDrift } from "../../../src/plan/reconcile.ts";
import { addr, plannedTunnel } from "../../helpers/observed-hosts.ts";
import { planFor, USER_PREFIX } from "../../helpers/plans.ts";

const plan = planFor(USER_PREFIX, { tunnelName: "tun0", tunnelOwner: "vyos" });

function tun0(
  overrides: Partial<ObservedLink> = {},
  encapLimit: number | "none" | null = "none",
): ObservedLink {
  return plannedTunnel(plan, encapLimit, { index: 7, ...overrides });
}

function v6route(dst: string, gateway: string): ObservedRoute {
  return { family: 6, dst, gateway, dev: plan.wan, protocol: "static", metric: 20, type: "unicast" };
}

/** VyOS as the rendered lines make it: tunnel, CE and IPv4 address, the RA default route. */
function vyosHost(link: ObservedLink, routes: ObservedRoute[] = []): HostState {
  return {
    links: [link],
    addresses: [addr(plan.wan, plan.ceAddress, 128, 6), addr("tun0", plan.ipv4Address, 32, 4)],
    routes: [{ ...v6route("default", "fe80::2"), protocol: "ra", metric: 1024 }, ...routes],
    ipv4Forwarding: true,
    nftTable: null,
  };
}

test("VyOS as rendered has no drift", () => {
  assert.deepEqual(vyosDrift(plan, vyosHost(tun0())), []);
});

test("encaplimit other than none and another MTU are drift, each named with what it should be", () => {
  assert.deepEqual(vyosDrift(plan, vyosHost(tun0({}, null))), [
    "tunnel tun0 adds the encapsulation-limit option (encaplimit 4, VyOS's default), which strict BRs drop: it needs parameters ipv6 encaplimit none",
  ]);
  const drift = vyosDrift(plan, vyosHost(tun0({ mtu: 1476 }, 4)));
  assert.equal(drift.length, 2, drift.join("\n"));
  assert.match(drift[0] ?? "", /encaplimit 4\)/);
  assert.equal(drift[1], "tunnel tun0 mtu is 1476, not 1460");
});

test("a route to the BR pinned to a router that is no longer the default router is drift; one via it is not", () => {
  assert.deepEqual(vyosDrift(plan, vyosHost(tun0(), [v6route(plan.br, "fe80::2")])), []);
  const drift = vyosDrift(plan, vyosHost(tun0(), [v6route(plan.br, "fe80::a611:bbff:fe7d:ee11")]));
  assert.deepEqual(drift, [
    `the route to the BR ${plan.br} goes via fe80::a611:bbff:fe7d:ee11, but ${plan.wan}'s default router is now fe80::2: delete protocols static route6 ${plan.br}/128 (the default route reaches the BR) or give it the new next hop`,
  ]);
});
