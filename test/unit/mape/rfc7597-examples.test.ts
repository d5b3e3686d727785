import assert from "node:assert/strict";
import { test } from "node:test";
import { ceAddressForIpv4Port, readCeAddress } from "../../../src/mape/compute.ts";
import { formatIpv4, parseIpv4 } from "../../../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6 } from "../../../src/mape/ipv6.ts";
import { mapRule, parametersOf } from "../../helpers/mape-rule.ts";

// RFC 7597 Appendix A. The RFC uses its own interface-ID layout.
const example1Rule = mapRule("2001:db8::/40", "192.0.2.0/24", 16, 6);

test("RFC 7597 example 1: end-user prefix to IPv4, PSID, ports and CE address", () => {
  const p = parametersOf(example1Rule, "2001:db8:0012:3400::/56", "rfc7597");
  assert.equal(example1Rule.psidLength, 8); // sharing ratio 256
  assert.equal(formatIpv4(p.ipv4Address), "192.0.2.18");
  assert.equal(p.psid, 0x34);
  assert.equal(p.portSets.length, 63);
  assert.deepEqual(p.portSets[0], [1232, 1235]);
  assert.deepEqual(p.portSets[1], [2256, 2259]);
  assert.deepEqual(p.portSets[61], [63696, 63699]);
  assert.deepEqual(p.portSets[62], [64720, 64723]);
  assert.equal(p.portCount, 252);
  assert.equal(formatIpv6(p.ceAddress), "2001:db8:12:3400:0:c000:212:34");
});

test("RFC 7597 example 2: the BR maps 192.0.2.18 port 1232 to the CE address", () => {
  const ce = ceAddressForIpv4Port(example1Rule, parseIpv4("192.0.2.18"), 1232, "rfc7597");
  assert.equal(ce === null ? null : formatIpv6(ce), "2001:db8:12:3400:0:c000:212:34");
  assert.deepEqual(readCeAddress(example1Rule, parseIpv6("2001:db8:12:3400:0:c000:212:34"), "rfc7597"), {
    ipv4: parseIpv4("192.0.2.18"),
    psid: 0x34,
  });
});

test("RFC 7597 example 4: no EA bits, a full IPv4 address, no port sharing", () => {
  const rule = mapRule("2001:db8:12:3400::/56", "192.0.2.18/32", 0, 6);
  const p = parametersOf(rule, "2001:db8:12:3400::/56", "rfc7597");
  assert.equal(formatIpv4(p.ipv4Address), "192.0.2.18");
  assert.equal(p.psid, 0);
  assert.deepEqual(p.portSets, [[0, 65535]]);
  assert.equal(formatIpv6(p.ceAddress), "2001:db8:12:3400:0:c000:212:0");
});

test("RFC 7597 example 5: no EA bits, PSID 0x34 provisioned explicitly", () => {
  const rule = mapRule("2001:db8:12:3400::/56", "192.0.2.18/32", 0, 6, { psidLength: 8, psid: 0x34 });
  const p = parametersOf(rule, "2001:db8:12:3400::/56", "rfc7597");
  assert.equal(p.psid, 0x34);
  assert.deepEqual(p.portSets[0], [1232, 1235]);
  assert.deepEqual(p.portSets.at(-1), [64720, 64723]);
  assert.equal(formatIpv6(p.ceAddress), "2001:db8:12:3400:0:c000:212:34");
});
