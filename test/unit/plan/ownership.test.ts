import assert from "node:assert/strict";
import { test } from "node:test";
import { deadCeAddress } from "../../../src/daemon/converge.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import type { HostState } from "../../../src/plan/observed.ts";
import { ownedCleanup } from "../../../src/plan/owned-cleanup.ts";
import { PlanError } from "../../../src/plan/plan.ts";
import { reconcileDown, reconcileUp, type AppliedState } from "../../../src/plan/reconcile.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { addr, freshHost, hostAfterUp, link, route, stateOf } from "../../helpers/observed-hosts.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

const OPTIONS = { replaceDefault: false, nodad: true };
const plan = planFor(USER_PREFIX);
const nft = renderNftables(plan);

function brRoute(gateway: string, dev: string, protocol: string, metric: number) {
  return route({ family: 6, dst: plan.br, gateway, dev, protocol, metric });
}

test("a user's route to the BR at mapectl's metric is never replaced: up refuses, naming it", () => {
  const host = freshHost();
  const theirs = { ...host, routes: [...host.routes, brRoute("fe80::99", "wan0", "static", 1)] };
  assert.throws(
    () => reconcileUp(plan, nft, null, theirs, OPTIONS),
    (err: Error) =>
      err instanceof PlanError &&
      /a route to the BR 2001:260:700:1::1:275 with metric 1 already exists \(via fe80::99 dev wan0, proto static\) and is not mapectl's/.test(
        err.message,
      ),
  );
});

test("a user's route to the BR that already goes mapectl's way is used as it is, and down leaves it", () => {
  const host = freshHost();
  const theirs = { ...host, routes: [...host.routes, brRoute(plan.gateway, plan.wan, "static", 1)] };
  const up = reconcileUp(plan, nft, null, theirs, OPTIONS);
  assert.ok(!up.actions.some((a) => a.id === "br-route"));
  const after = hostAfterUp(plan, theirs);
  const withoutOurs = { ...after, routes: after.routes.filter((r) => r.protocol !== "77" || r.family === 4) };
  const down = reconcileDown({ ...stateOf(plan), adopted: up.adopted }, withoutOurs);
  assert.ok(!down.some((a) => a.id === "br-route"));
});

test("beside a user's route to the BR at another metric, mapectl adds its own (add, not replace)", () => {
  const host = freshHost();
  const theirs = {
    ...host,
    routes: [...host.routes, route({ family: 6, dst: plan.br, dev: "wan0", metric: 1024 })],
  };
  const action = reconcileUp(plan, nft, null, theirs, OPTIONS).actions.find((a) => a.id === "br-route");
  assert.equal(action?.apply.argv[3], "add");
  assert.deepEqual(action.undo?.argv.slice(3, 5), ["del", `${plan.br}/128`]);
});

test("mapectl's own BR route left with an old gateway (state lost) is replaced, and its undo puts it back", () => {
  const host = freshHost();
  const stale = { ...host, routes: [...host.routes, brRoute("fe80::7", "wan0", "77", 1)] };
  const action = reconcileUp(plan, nft, null, stale, OPTIONS).actions.find((a) => a.id === "br-route");
  assert.equal(action?.apply.argv[3], "replace");
  assert.deepEqual(action.undo?.argv.slice(3, 9), [
    "replace",
    `${plan.br}/128`,
    "via",
    "fe80::7",
    "dev",
    "wan0",
  ]);
});

/** The plan's tunnel, CE address and IPv4 address made by someone else before mapectl ran. */
function preexisting(): HostState {
  const made = hostAfterUp(plan);
  return { ...made, routes: freshHost().routes, nftTable: null };
}

test("a tunnel and addresses that existed before up are adopted, and down leaves them", () => {
  const before = preexisting();
  const up = reconcileUp(plan, nft, null, before, OPTIONS);
  assert.deepEqual(up.adopted, { tunnel: true, ceAddress: true, ipv4Address: true });
  assert.deepEqual(
    up.actions.map((a) => a.id),
    // the default route after the table, so nothing leaves untranslated
    ["br-route", "nat", "ipv4-default"],
  );
  const state: AppliedState = { ...stateOf(plan), adopted: up.adopted };
  const down = reconcileDown(state, hostAfterUp(plan));
  // only what mapectl added goes: its table, its default route and BR route; the tunnel, the CE
  // address and the IPv4 address stay as they were before up
  assert.deepEqual(
    down.map((a) => a.id),
    ["nat", "ipv4-default", "br-route"],
  );
  for (const a of down) assert.notDeepEqual(a.apply.argv.slice(0, 3), ["ip", "link", "del"]);
});

/** The next up on the host the last one left, with the state that recorded what it adopted. */
const upAgain = (adopted: ReturnType<typeof reconcileUp>["adopted"]) =>
  reconcileUp(plan, nft, { ...stateOf(plan), adopted }, hostAfterUp(plan), OPTIONS);

test("adoption survives the next up: a piece adopted once stays adopted, a piece made stays mapectl's", () => {
  const before = preexisting();
  const first = reconcileUp(plan, nft, null, before, OPTIONS);
  const again = upAgain(first.adopted);
  assert.deepEqual(again.adopted, first.adopted);
  const fresh = reconcileUp(plan, nft, null, freshHost(), OPTIONS);
  assert.deepEqual(fresh.adopted, { tunnel: false, ceAddress: false, ipv4Address: false });
  const next = upAgain(fresh.adopted);
  assert.deepEqual(next.adopted, fresh.adopted);
});

test("only a CE address that existed before up: down removes the tunnel but not the address", () => {
  const host = freshHost();
  const withCe = { ...host, addresses: [...host.addresses, addr(plan.wan, plan.ceAddress, 128)] };
  const up = reconcileUp(plan, nft, null, withCe, OPTIONS);
  assert.deepEqual(up.adopted, { tunnel: false, ceAddress: true, ipv4Address: false });
  const down = reconcileDown({ ...stateOf(plan), adopted: up.adopted }, hostAfterUp(plan));
  assert.ok(down.some((a) => a.id === "tunnel"));
  assert.ok(!down.some((a) => a.id === "ce-address"));
});

test("an adopted CE address of an old prefix is neither removed by up nor by the daemon's early step", () => {
  const old = planFor("2404:7a82:4d02:4100::/56");
  const moved = planFor("2404:7a82:4d03:4200::/56");
  const state: AppliedState = {
    ...stateOf(old),
    adopted: { tunnel: false, ceAddress: true, ipv4Address: false },
  };
  const up = reconcileUp(moved, renderNftables(moved), state, hostAfterUp(old), OPTIONS);
  assert.ok(!up.actions.some((a) => a.id === "old-ce-address"));
  const context = {
    wan: moved.wan,
    prefix: parseIpv6Prefix("2404:7a82:4d03:4200::/56"),
    widen: false,
    prefixFrom: "test",
    gateway: moved.gateway,
  };
  assert.equal(deadCeAddress(state, hostAfterUp(old), context), null);
  // the same address made by mapectl goes
  assert.notEqual(deadCeAddress(stateOf(old), hostAfterUp(old), context), null);
});

test("a state written before adoption was recorded: down removes everything as it always did", () => {
  const down = reconcileDown(stateOf(plan), hostAfterUp(plan));
  assert.deepEqual(
    down.map((a) => a.id),
    ["nat", "tunnel", "br-route", "ce-address"],
  );
});

test("without a state, only mapectl's table, proto 77 routes and ip4ip6 tunnel of that name are removable", () => {
  const host = hostAfterUp(plan);
  const withOthers: HostState = {
    ...host,
    links: [
      ...host.links,
      link("other", {
        kind: "ip6tnl",
        tunnel: { mode: "ip6ip6", local: null, remote: null, link: null, encapLimit: null },
      }),
    ],
    routes: [...host.routes, route({ family: 4, dst: "10.0.0.0/8", dev: "lan0", protocol: "static" })],
  };
  const actions = ownedCleanup(withOthers, plan.tunnel.name);
  assert.deepEqual(
    actions.map((a) => a.apply.argv.join(" ")),
    [
      "nft delete table ip mapectl",
      `ip -6 route del ${plan.br} via ${plan.gateway} dev wan0 proto 77 metric 1`,
      `ip -4 route del default dev ${plan.tunnel.name} proto 77 metric ${plan.defaultRouteMetric}`,
      `ip link del dev ${plan.tunnel.name}`,
    ],
  );
  // a tunnel of that name that is not ip4ip6 is not provably mapectl's
  assert.equal(ownedCleanup(withOthers, "other").filter((a) => a.id === "tunnel").length, 0);
});
