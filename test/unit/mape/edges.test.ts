import assert from "node:assert/strict";
import { test } from "node:test";
import { computeParameters, readCeAddress } from "../../../src/mape/compute.ts";
import { formatIpv4 } from "../../../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { portCount, portInSet, portSets } from "../../../src/mape/port-set.ts";
import { mapRule, parametersOf } from "../../helpers/mape-rule.ts";

test("every PSID offset 0..15 with PSID length 1: block layout follows RFC 7597 §5.1", () => {
  for (let a = 0; a <= 15; a++) {
    const sets = portSets(a, 1, 1);
    const m = 16 - a - 1;
    assert.equal(sets.length, a === 0 ? 1 : 2 ** a - 1, `a=${a}`);
    const first = sets[0];
    assert.ok(first !== undefined);
    // A = 1 when a > 0 (system ports excluded), A = 0 when a = 0
    assert.equal(first[0], (a === 0 ? 0 : 2 ** (16 - a)) + 2 ** m, `a=${a}`);
    assert.equal(first[1] - first[0] + 1, 2 ** m, `a=${a}`);
    for (const [lo] of sets) assert.ok(a === 0 || lo >= 2 ** (16 - a), `a=${a} no system ports`);
  }
});

test("every PSID length 0..16 with offset 0: 2^(16−k) ports, one block", () => {
  for (let k = 0; k <= 16; k++) {
    const psid = k === 0 ? 0 : 2 ** k - 1;
    const sets = portSets(0, k, psid);
    assert.equal(portCount(sets), k === 0 ? 65536 : 2 ** (16 - k), `k=${k}`);
    assert.equal(sets.length, 1, `k=${k}`);
  }
});

test("a + k = 16 leaves m = 0: every block is a single port", () => {
  const sets = portSets(4, 12, 0x123);
  assert.equal(sets.length, 15);
  for (const [lo, hi] of sets) assert.equal(lo, hi);
  assert.deepEqual(sets[0], [4096 + 0x123, 4096 + 0x123]);
  assert.ok(portInSet(4096 + 0x123, 4, 12, 0x123));
  assert.ok(!portInSet(4096 + 0x124, 4, 12, 0x123));
});

test("k = 0 (sharing ratio 1): the CE owns every port", () => {
  const rule = mapRule("2001:db8::/32", "192.0.2.0/24", 8, 4);
  assert.equal(rule.psidLength, 0);
  const p = parametersOf(rule, "2001:db8:1200::/40", "draft-03");
  assert.equal(formatIpv4(p.ipv4Address), "192.0.2.18");
  assert.deepEqual(p.portSets, [[0, 65535]]);
  assert.equal(p.portCount, 65536);
  assert.ok(portInSet(80, 4, 0, 0));
});

test("EA bits shorter than the IPv4 suffix: the CE gets a shared IPv4 prefix, said clearly", () => {
  const rule = mapRule("2001:db8::/32", "198.51.100.0/24", 4, 6);
  const p = parametersOf(rule, "2001:db8:3000::/36", "rfc7597");
  assert.equal(p.ipv4PrefixLength, 28);
  assert.equal(formatIpv4(p.ipv4Address), "198.51.100.48");
  assert.match(p.warnings[0] ?? "", /shared IPv4 prefix 198\.51\.100\.48\/28/);
  assert.deepEqual(readCeAddress(rule, p.ceAddress, "rfc7597"), { ipv4: p.ipv4Address, psid: 0 });
});

test("EA = 0 with a /32 rule: 1:1 mapping, CE address from the prefix itself", () => {
  const rule = mapRule("2001:db8:1:100::/56", "203.0.113.7/32", 0, 0);
  const p = parametersOf(rule, "2001:db8:1:100::/56", "draft-03");
  assert.equal(formatIpv6(p.ceAddress), "2001:db8:1:100:cb:71:700:0");
  assert.deepEqual(p.portSets, [[0, 65535]]);
});

test("the two interface-ID layouts differ by one byte and a BR accepts only its own", () => {
  const rule = mapRule("2404:7a82:4c00::/38", "133.209.12.0/22", 18, 4);
  const prefix = parseIpv6Prefix("2404:7a82:4d02:4100::/56");
  const draft = computeParameters(prefix, rule, "draft-03").ceAddress;
  const rfc = computeParameters(prefix, rule, "rfc7597").ceAddress;
  assert.notEqual(draft, rfc);
  assert.notEqual(readCeAddress(rule, draft, "draft-03"), null);
  assert.equal(readCeAddress(rule, draft, "rfc7597"), null);
  assert.equal(readCeAddress(rule, rfc, "draft-03"), null);
  // a CE address whose IID disagrees with its EA bits (another CE's IID) is refused too
  assert.equal(readCeAddress(rule, draft ^ (1n << 8n), "draft-03"), null);
});
