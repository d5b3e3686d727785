import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseAppliedState } from "../../../src/plan/applied-state.ts";
import { buildDsLitePlan, type DsLitePlan } from "../../../src/plan/dslite-plan.ts";
import type { Plan } from "../../../src/plan/method.ts";
import { reconcileDown, reconcileUp } from "../../../src/plan/reconcile.ts";
import { renderPlanTable } from "../../../src/render/render.ts";
import { freshHost, hostAfterUp, stateOf } from "../../helpers/observed-hosts.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

const OPTIONS = { replaceDefault: false, nodad: false };
const WAN_ADDRESS = "2404:7a82:4d02:4100::1";

function dsLite(extra: { tunnelName?: string; aftr?: string } = {}): DsLitePlan {
  return buildDsLitePlan({
    wan: "wan0",
    lan: ["lan0"],
    gateway: "fe80::1",
    tunnelName: extra.tunnelName ?? "dslite",
    mtu: 1460,
    defaultRouteMetric: 10,
    forwards: [],
    local: WAN_ADDRESS,
    aftr: { name: "aftr.example", address: extra.aftr ?? "2001:db8:a::1", from: "hb46pp", service: null },
  });
}

function up(plan: Plan, before: Plan | null) {
  const host = before === null ? freshHost() : hostAfterUp(before);
  return reconcileUp(plan, renderPlanTable(plan), before === null ? null : stateOf(before), host, OPTIONS);
}

test("DS-Lite on a fresh router: tunnel from the WAN's own address, B4 192.0.0.2/29, default, table; no CE address, no BR route", () => {
  const plan = dsLite();
  const { actions, adopted } = up(plan, null);
  assert.deepEqual(
    actions.map((a) => a.id),
    ["tunnel", "ipv4-address", "nat", "ipv4-default"],
  );
  const byId = Object.fromEntries(actions.map((a) => [a.id, a]));
  const tunnel = byId["tunnel"]?.apply.argv.join(" ") ?? "";
  assert.match(
    tunnel,
    /type ip6tnl mode ip4ip6 local 2404:7a82:4d02:4100::1 remote 2001:db8:a::1 dev wan0 encaplimit none$/,
  );
  assert.match(tunnel, /mtu 1460/);
  assert.equal(byId["ipv4-address"]?.apply.argv.join(" "), "ip -4 addr add 192.0.0.2/29 dev dslite");
  assert.equal(
    byId["ipv4-default"]?.apply.argv.join(" "),
    "ip -4 route add default dev dslite proto 77 metric 10",
  );
  // the table clamps and filters; it never translates (the AFTR does)
  const table = byId["nat"]?.apply.input ?? "";
  assert.match(table, /maxseg size set/);
  assert.doesNotMatch(table, /snat|masquerade/);
  assert.match(byId["nat"]?.summary ?? "", /no NAT/);
  assert.deepEqual(adopted, { tunnel: false, ceAddress: false, ipv4Address: false });
});

test("DS-Lite already up as planned: nothing to do; a new AFTR address changes the tunnel in place (and the table's comment naming it)", () => {
  const plan = dsLite();
  assert.deepEqual(up(plan, plan).actions, []);
  const moved = up(dsLite({ aftr: "2001:db8:a::2" }), plan).actions;
  assert.deepEqual(
    moved.map((a) => a.id),
    ["nat", "tunnel"],
  );
  const tunnel = moved.find((a) => a.id === "tunnel");
  assert.ok(tunnel?.apply.argv.includes("2001:db8:a::2"));
  assert.ok(tunnel?.undo?.argv.includes("2001:db8:a::1"));
});

test("MAP-E → DS-Lite: the old tunnel, BR route and CE address go, and nothing of the user's", () => {
  const mape = planFor(USER_PREFIX);
  const { actions } = up(dsLite(), mape);
  assert.deepEqual(
    actions.map((a) => a.id),
    ["old-tunnel", "old-br-route", "tunnel", "ipv4-address", "nat", "ipv4-default", "old-ce-address"],
  );
  const argv = (id: string) => actions.find((a) => a.id === id)?.apply.argv.join(" ");
  assert.equal(argv("old-tunnel"), "ip link del dev mape");
  assert.equal(argv("old-ce-address"), `ip -6 addr del ${mape.ceAddress}/128 dev wan0`);
  assert.match(
    argv("old-br-route") ?? "",
    new RegExp(`^ip -6 route del ${mape.br}/128 via fe80::1 dev wan0 proto 77`),
  );
});

test("DS-Lite → MAP-E with the same tunnel name: changed in place, the B4 address goes after the new one is on", () => {
  const before = dsLite({ tunnelName: "mape" });
  const { actions } = up(planFor(USER_PREFIX), before);
  assert.deepEqual(
    actions.map((a) => a.id),
    ["ce-address", "br-route", "ipv4-address", "nat", "tunnel", "old-ipv4-address"],
  );
  assert.equal(
    actions.find((a) => a.id === "old-ipv4-address")?.apply.argv.join(" "),
    "ip -4 addr del 192.0.0.2/29 dev mape",
  );
});

test("down of DS-Lite removes the table and the tunnel (with its address and route) and touches no WAN address", () => {
  const plan = dsLite();
  const actions = reconcileDown(stateOf(plan), hostAfterUp(plan));
  // the table's deletion is one nft transaction (ip and netdev tables), read from its input
  assert.deepEqual(
    actions.map((a) => a.apply.argv.join(" ")),
    ["nft -f -", "ip link del dev dslite"],
  );
  assert.match(actions[0]?.apply.input ?? "", /^delete table ip mapectl$/m);
});

test("a DS-Lite state file round-trips; one missing the B4 address is refused with the field", () => {
  const state = stateOf(dsLite());
  const parsed = parseAppliedState(JSON.stringify(state));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.state, state);
  const plan: Record<string, unknown> = { ...state.plan };
  delete plan["b4Address"];
  const broken = parseAppliedState(JSON.stringify({ ...state, plan }));
  assert.ok(!broken.ok);
  assert.match(broken.why, /plan\.b4Address/);
  // a MAP-E state of an older version (no method) still parses as MAP-E
  const old: Record<string, unknown> = { ...stateOf(planFor(USER_PREFIX)).plan };
  delete old["method"];
  const older = parseAppliedState(JSON.stringify({ ...state, nftScript: "", plan: old }));
  assert.ok(older.ok);
  assert.equal(older.state.plan.method, undefined);
});

test("a B4 source mapectl adds (a PD-only line) goes on the WAN before the tunnel and comes off with down", () => {
  const plan: DsLitePlan = { ...dsLite(), addsSource: true };
  const { actions } = up(plan, null);
  assert.deepEqual(
    actions.map((a) => a.id),
    // the table names no device, so it loads while the new address's DAD runs
    ["ce-address", "nat", "tunnel", "ipv4-address", "ipv4-default"],
  );
  assert.equal(actions[0]?.apply.argv.join(" "), `ip -6 addr add ${WAN_ADDRESS}/128 dev wan0`);
  const down = reconcileDown(stateOf(plan), hostAfterUp(plan)).map((a) => a.apply.argv.join(" "));
  assert.ok(down.includes(`ip -6 addr del ${WAN_ADDRESS}/128 dev wan0`), down.join("; "));
});

test("MAP-E's fold left on the tunnel goes with DS-Lite's table load, after which the settle round finds nothing to do", () => {
  const plan = dsLite();
  const fixture = (name: string) =>
    readFileSync(new URL(`../../fixtures/nft/${name}-listed-by-nft-1.0.6.txt`, import.meta.url), "utf8");
  // as real nft 1.0.6 listed DS-Lite's table, and MAP-E's netdev table holding the fold
  const listed = fixture("dslite-table").trim();
  const fold = /table netdev mapectl \{[^]*$/.exec(fixture("mapectl-fold-netdev"))?.[0].trim() ?? "";
  assert.match(fold, /^table netdev mapectl \{/);
  const leftover = { ...hostAfterUp(plan), nftTable: `${listed}\n${fold}` };
  const script = renderPlanTable(plan);
  const reload = reconcileUp(plan, script, stateOf(plan), leftover, OPTIONS).actions;
  assert.deepEqual(
    reload.map((a) => a.id),
    ["nat"],
  );
  assert.match(reload[0]?.apply.input ?? "", /^delete table netdev mapectl$/m, "the load removes the fold");
  const settled = { ...hostAfterUp(plan), nftTable: listed };
  assert.deepEqual(reconcileUp(plan, script, stateOf(plan), settled, OPTIONS).actions, []);
});
