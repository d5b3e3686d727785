import assert from "node:assert/strict";
import { test } from "node:test";
import { computeParameters } from "../../../src/mape/compute.ts";
import { formatIpv4 } from "../../../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { resolveParameters } from "../../../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { mapRule } from "../../helpers/mape-rule.ts";

const USER_PREFIX = parseIpv6Prefix("2404:7a82:4d02:4100::/56");

test("the seed user's BIGLOBE prefix gives the WXR's parameters and BIGLOBE east's BR", () => {
  const resolved = resolveParameters({
    prefix: USER_PREFIX,
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
  });
  const p = resolved.params;
  assert.equal(resolved.service?.id, "biglobe");
  assert.equal(formatIpv4(p.ipv4Address), "133.209.13.2");
  assert.equal(p.psid, 65);
  assert.equal(formatIpv6(p.ceAddress), "2404:7a82:4d02:4100:85:d10d:200:4100");
  assert.equal(p.rule.br === null ? null : formatIpv6(p.rule.br), "2001:260:700:1::1:275");
  assert.equal(p.portCount, 240);
  assert.equal(p.portSets.length, 15);
  assert.deepEqual(p.portSets[0], [5136, 5151]);
  assert.deepEqual(p.portSets[1], [9232, 9247]);
  assert.deepEqual(p.portSets[14], [62480, 62495]);
  assert.equal(p.rule.eaBits, 18);
  assert.equal(p.rule.psidOffset, 4);
  assert.equal(p.rule.psidLength, 8);
});

test("the same prefix with the RFC 7597 interface ID", () => {
  const rule = mapRule("2404:7a82:4c00::/38", "133.209.12.0/22", 18, 4);
  const p = computeParameters(USER_PREFIX, rule, "rfc7597");
  assert.equal(formatIpv6(p.ceAddress), "2404:7a82:4d02:4100:0:85d1:d02:41");
});
