import assert from "node:assert/strict";
import { test } from "node:test";
import { readParameters } from "../../../src/web/api.ts";
import { OCN_PREFIX, USER_PREFIX, planFor } from "../../helpers/plans.ts";

test("the calc object of a plan reads back with every field the pages show", () => {
  const p = readParameters(planFor(USER_PREFIX).parameters);
  assert.ok(p !== null);
  assert.equal(p.prefix, USER_PREFIX);
  assert.equal(p.serviceName, "BIGLOBE IPv6オプション");
  assert.equal(p.ipv4Address, "133.209.13.2");
  assert.equal(p.psid, 65);
  assert.equal(p.ceAddress, "2404:7a82:4d02:4100:85:d10d:200:4100");
  assert.equal(p.br, "2001:260:700:1::1:275");
  assert.equal(p.portSets.length, 15);
  assert.deepEqual(p.portSets[0], [5136, 5151]);
  assert.equal(p.portCount, 240);
  assert.equal(readParameters(planFor(OCN_PREFIX).parameters)?.portSets.length, 63);
});

test("a damaged or foreign calc object gives null or gaps, never a throw", () => {
  assert.equal(readParameters(null), null);
  assert.equal(readParameters([]), null);
  assert.equal(readParameters({ prefix: "x" }), null);
  const base = planFor(USER_PREFIX).parameters;
  assert.equal(readParameters({ ...base, psid: "65" }), null);
  const odd = readParameters({ ...base, portSets: [[1, 2], "x", [3]], warnings: ["a", 1], br: 7 });
  assert.ok(odd !== null);
  assert.deepEqual(odd.portSets, [[1, 2]]);
  assert.deepEqual(odd.warnings, ["a"]);
  assert.equal(odd.br, null);
});
