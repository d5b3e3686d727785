import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { canonicalNftTable, sameNftTable } from "../../../src/plan/nft-table.ts";
import type { MapePlan } from "../../../src/plan/plan.ts";
import { reconcileUp } from "../../../src/plan/reconcile.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { hostAfterUp, stateOf } from "../../helpers/observed-hosts.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

// What nft 1.0.6 printed for this plan's table right after loading it (a port forward and a
// TIME_WAIT policy, so every kind of statement is there).
const base = planFor(USER_PREFIX);
const plan: MapePlan = {
  ...base,
  forwards: [{ protocol: "tcp", port: 5136, toAddress: "192.168.1.10", toPort: 22 }],
  tcpTimeWait: 30,
  allocator: "round-robin",
};
const rendered = renderNftables(plan);
const listed = readFileSync(
  new URL("../../fixtures/nft/mapectl-table-listed-by-nft-1.0.6.txt", import.meta.url),
  "utf8",
);

test("the table as nft lists it is the table as rendered, counters and nft's own spelling aside", () => {
  assert.ok(sameNftTable(listed, rendered), `${canonicalNftTable(listed)}\n${canonicalNftTable(rendered)}`);
  const counted = listed.replace(/counter packets 0 bytes 0/g, "counter packets 12 bytes 3456");
  assert.ok(sameNftTable(counted, rendered));
});

test("with the fast path: nft lists the flowtable's devices unquoted, and that is still the same table", () => {
  const fast = renderNftables({ ...plan, fastPath: true });
  // nft 1.0.6 prints a flowtable after the table's objects and before its chains, as seen in the lab
  const listedFast = listed
    .replace(
      "\n\tchain srcnat {",
      "\n\tflowtable fastpath {\n\t\thook ingress priority filter\n\t\tdevices = { lan0, mape }\n\t}\n\n\tchain srcnat {",
    )
    .replace(
      /(chain forward \{[^]*?unsolicited inbound IPv4"\n)/,
      '$1\t\toifname "mape" meta l4proto { tcp, udp } flow add @fastpath\n',
    );
  assert.ok(listedFast.includes("flow add"), "the edit must add the rule");
  assert.ok(sameNftTable(listedFast, fast), `${canonicalNftTable(listedFast)}\n${canonicalNftTable(fast)}`);
  assert.equal(sameNftTable(listed, fast), false, "a table without the fast path is not the planned one");
  assert.equal(sameNftTable(listedFast.replace("lan0, mape", "lan0"), fast), false, "a device taken out");
});

const edits: [string, (t: string) => string][] = [
  ["a rule deleted", (t) => t.replace(/\n\t\tiifname "mape" ct status dnat accept/, "")],
  [
    "a rule added",
    (t) => t.replace(/(chain input \{\n[^\n]*\n)/, '$1\t\tiifname "mape" tcp dport 22 accept\n'),
  ],
  ["a port block changed", (t) => t.replace("5136-5151", "5136-5152")],
  ["a forward redirected", (t) => t.replace("192.168.1.10:22", "192.168.1.66:22")],
  [
    "a policy changed",
    (t) =>
      t.replace(
        "type filter hook forward priority filter; policy accept;",
        "type filter hook forward priority filter; policy drop;",
      ),
  ],
  ["a protocol taken out of the NAT", (t) => t.replace("{ icmp, tcp, udp }", "{ tcp, udp }")],
];

for (const [what, edit] of edits) {
  test(`a table edited by hand (${what}) differs from the plan`, () => {
    const edited = edit(listed);
    assert.notEqual(edited, listed, "the edit must change the fixture");
    assert.equal(sameNftTable(edited, rendered), false);
  });
}

test("up restores a hand-edited table and status names it; a faithful one is left alone", () => {
  const state = stateOf(plan);
  const faithful = { ...hostAfterUp(plan), nftTable: listed.trim() };
  assert.deepEqual(
    reconcileUp(plan, rendered, state, faithful, { replaceDefault: false, nodad: true }).actions,
    [],
  );
  const edited = {
    ...faithful,
    nftTable: listed.replace(/\n\t\tiifname "mape" ct status dnat accept/, "").trim(),
  };
  const { actions } = reconcileUp(plan, rendered, state, edited, { replaceDefault: false, nodad: true });
  assert.deepEqual(
    actions.map((a) => a.id),
    ["nat"],
  );
  const [nat] = actions;
  assert.ok(nat !== undefined);
  assert.match(nat.summary, /restore the table "ip mapectl": the running one differs from the plan/);
  assert.equal(nat.apply.input, rendered);
  // rolled back, the edited table comes back as it was
  const undo = nat.undo?.input ?? "";
  assert.match(undo, /delete table ip mapectl\n/);
  assert.ok(undo.includes(edited.nftTable));
});

// The same with the fold allocator and the per-host limit, as nft 1.0.6 listed it after loading.
const foldPlan: MapePlan = { ...plan, allocator: "fold", maxPortsPerHost: 210 };
const foldRendered = renderNftables(foldPlan);
const foldListed = readFileSync(
  new URL("../../fixtures/nft/mapectl-fold-table-listed-by-nft-1.0.6.txt", import.meta.url),
  "utf8",
);

test("the fold's maps and raw matches as nft lists them are the table as rendered", () => {
  assert.ok(sameNftTable(foldListed, foldRendered), canonicalNftTable(foldListed));
  // hosts the per-host limit is counting come and go: they are no difference
  const counting = foldListed.replace(
    "flags dynamic\n",
    "flags dynamic\n\t\telements = { 192.168.1.10 ct count over 210, 192.168.1.11 ct count over 210 }\n",
  );
  assert.notEqual(counting, foldListed);
  assert.ok(sameNftTable(counting, foldRendered));
});

for (const [what, edit] of [
  ["a fold element changed", (t: string) => t.replace("16 : 5136,", "16 : 5137,")],
  ["the unfold of udp deleted", (t: string) => t.replace(/\n\t\tiifname "mape" udp dport set [^\n]*/, "")],
  ["the per-host limit raised", (t: string) => t.replace("ct count over 210", "ct count over 240")],
  ["the allocation range changed", (t: string) => t.replace("133.209.13.2:16-255", "133.209.13.2:16-250")],
] as const) {
  test(`a fold table with ${what} differs`, () => {
    const edited = edit(foldListed);
    assert.notEqual(edited, foldListed);
    assert.equal(sameNftTable(edited, foldRendered), false);
  });
}

// The fold on the tunnel device, both tables as nft 1.0.6 listed them after loading the rendered
// script in a namespace whose kernel has netdev egress but no flowtable: the flowtable (listed in
// the fast path's own fixture) and its rule are left out of the script that was loaded.
const netdevPlan: MapePlan = {
  ...planFor(USER_PREFIX, { fastPath: true, netdevEgress: true, lan: ["lan0"] }),
  maxPortsPerHost: 210,
};
const withoutFlowtable = (script: string): string =>
  script
    .replace(/\tflowtable fastpath \{\n[^]*?\n\t\}\n/, "")
    .replace(/\t\toifname "mape" meta l4proto \{ tcp, udp \} flow add @fastpath\n/, "");
const netdevRendered = withoutFlowtable(renderNftables(netdevPlan));
const netdevListed = readFileSync(
  new URL("../../fixtures/nft/mapectl-fold-netdev-listed-by-nft-1.0.6.txt", import.meta.url),
  "utf8",
);

test("the fold on the tunnel device: the ip and netdev tables as nft lists them are the script as rendered", () => {
  assert.notEqual(netdevRendered, renderNftables(netdevPlan));
  assert.ok(sameNftTable(netdevListed, netdevRendered), canonicalNftTable(netdevListed));
  // the egress chain gone with its device (the tunnel made anew) is a difference: up reloads
  const gone = netdevListed.replace(/\n\tchain fold \{\n[^]*?\n\t\}/, "");
  assert.notEqual(gone, netdevListed);
  assert.equal(sameNftTable(gone, netdevRendered), false);
  // and so is a netdev table left behind by a fold on the tunnel under a plan without it
  const roundRobin = renderNftables({ ...netdevPlan, allocator: "round-robin" });
  assert.equal(sameNftTable(netdevListed, roundRobin), false);
});

// The same two tables as nft 1.0.6 listed them where /etc/protocols is missing (Debian without
// netbase, as the lab's router system and a minimal router are): every protocol by its number.
const numeric = (name: string) =>
  readFileSync(
    new URL(`../../fixtures/nft/${name}-listed-by-nft-1.0.6-without-netbase.txt`, import.meta.url),
    "utf8",
  );

test("without /etc/protocols nft lists protocols by number, and that is still the table as rendered", () => {
  for (const [listedNumeric, named, script] of [
    [numeric("mapectl-table"), listed, rendered],
    [numeric("mapectl-fold-table"), foldListed, foldRendered],
  ] as const) {
    assert.match(listedNumeric, /meta l4proto \{ 1, 6, 17 \}/);
    assert.match(listedNumeric, /protocol 6\n/);
    assert.notEqual(listedNumeric, named);
    assert.ok(sameNftTable(listedNumeric, script), canonicalNftTable(listedNumeric));
    // a protocol taken out of the NAT, or another one put in, is still a difference
    assert.equal(sameNftTable(listedNumeric.replace("{ 1, 6, 17 }", "{ 6, 17 }"), script), false);
    assert.equal(
      sameNftTable(listedNumeric.replace("l4proto 6 ct timeout", "l4proto 17 ct timeout"), script),
      false,
    );
  }
  // the fast path's rule, as nft prints it without names
  const fast = renderNftables({ ...plan, fastPath: true });
  assert.ok(
    sameNftTable(fast.replace("meta l4proto { tcp, udp } flow add", "meta l4proto { 17, 6 } flow add"), fast),
  );
});

test("the settle round after a load on a system without netbase finds nothing to do (no reload)", () => {
  const state = stateOf(plan);
  const afterLoad = { ...hostAfterUp(plan), nftTable: numeric("mapectl-table").trim() };
  assert.deepEqual(
    reconcileUp(plan, rendered, state, afterLoad, { replaceDefault: false, nodad: true }).actions,
    [],
  );
});
