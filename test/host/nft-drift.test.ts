import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sameNftTable } from "../../src/plan/nft-table.ts";
import type { MapePlan } from "../../src/plan/plan.ts";
import { renderNftables } from "../../src/render/nftables.ts";
import { isRoot, Netns } from "../helpers/netns.ts";
import { OCN_PREFIX, USER_PREFIX, planFor } from "../helpers/plans.ts";

// The nft of this machine prints back every shape of table mapectl renders; what it prints must
// compare equal to what was loaded, or `up` would reload the table on every run and status would
// report drift that is not there.
let ns: Netns;

before(() => {
  if (isRoot()) ns = new Netns("mapectl-nft");
});
after(() => {
  if (isRoot()) ns.destroy();
});

const user = planFor(USER_PREFIX);
const shapes: [string, MapePlan][] = [
  ["port blocks", user],
  ["OCN's port blocks", planFor(OCN_PREFIX)],
  [
    "a forward and a TIME_WAIT policy",
    planFor(USER_PREFIX, {
      forwards: [
        { protocol: "tcp", port: 5136, toAddress: "192.168.1.10", toPort: 22 },
        { protocol: "udp", port: 9232, toAddress: "192.168.1.11", toPort: 9232 },
      ],
      tcpTimeWait: 30,
    }),
  ],
  ["a whole address", { ...user, portSets: [[0, 65535]], portCount: 65536 }],
  ["a shared prefix", { ...user, ipv4PrefixLength: 30, ipv4LastAddress: "133.209.13.3" }],
];

for (const [what, plan] of shapes) {
  test(
    `nft lists the loaded table (${what}) as the same table; a hand edit shows`,
    { skip: !isRoot() && "needs root" },
    () => {
      const rendered = renderNftables(plan);
      ns.ok(["nft", "-f", "-"], rendered);
      const listed = ns.ok(["nft", "list", "table", "ip", "mapectl"]).trim();
      assert.ok(sameNftTable(listed, rendered), listed);
      ns.ok(["nft", "add", "rule", "ip", "mapectl", "input", "tcp", "dport", "22", "accept"]);
      const edited = ns.ok(["nft", "list", "table", "ip", "mapectl"]).trim();
      assert.equal(sameNftTable(edited, rendered), false);
      ns.ok(["nft", "delete", "table", "ip", "mapectl"]);
    },
  );
}
