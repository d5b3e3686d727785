import assert from "node:assert/strict";
import { test } from "node:test";
import { computeParameters } from "../../../src/mape/compute.ts";
import { formatIpv4, ipv4Mask } from "../../../src/mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, ipv6Mask, ipv6PrefixContains } from "../../../src/mape/ipv6.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { selectRule } from "../../../src/rules/table.ts";

const table = shippedRuleTable();

test("the shipped tables hold the 444 known rules of the four services", () => {
  const count = new Map<string, number>();
  for (const entry of table.rules)
    count.set(entry.service?.id ?? "", (count.get(entry.service?.id ?? "") ?? 0) + 1);
  assert.equal(table.rules.length, 444);
  assert.deepEqual(Object.fromEntries(count), { v6plus: 8, biglobe: 258, ocn: 160, nuro: 18 });
});

test("no two shipped rules overlap, in IPv6 or in IPv4", () => {
  const rules = table.rules.map((e) => e.rule);
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i];
      const b = rules[j];
      assert.ok(a !== undefined && b !== undefined);
      const v6 =
        ipv6PrefixContains(a.ipv6Prefix, b.ipv6Prefix) || ipv6PrefixContains(b.ipv6Prefix, a.ipv6Prefix);
      assert.ok(!v6, `${formatIpv6Prefix(a.ipv6Prefix)} overlaps ${formatIpv6Prefix(b.ipv6Prefix)}`);
      const len = Math.min(a.ipv4Prefix.length, b.ipv4Prefix.length);
      const v4 = (a.ipv4Prefix.value & ipv4Mask(len)) >>> 0 === (b.ipv4Prefix.value & ipv4Mask(len)) >>> 0;
      assert.ok(
        !v4,
        `${formatIpv6Prefix(a.ipv6Prefix)} and ${formatIpv6Prefix(b.ipv6Prefix)} share IPv4 space`,
      );
    }
  }
});

test("every shipped rule ends at /56 and fits the port space", () => {
  for (const { rule } of table.rules) {
    const name = formatIpv6Prefix(rule.ipv6Prefix);
    assert.equal(rule.ipv6Prefix.length + rule.eaBits, 56, name);
    assert.ok(rule.psidOffset + rule.psidLength <= 16, name);
    assert.equal(rule.ipv6Prefix.value & ~ipv6Mask(rule.ipv6Prefix.length), 0n, name);
    assert.ok(rule.br !== null, `${name} has a BR`);
  }
});

test("the first and the last /56 of every rule give the first and last IPv4 address and PSID", () => {
  for (const { rule, service } of table.rules) {
    const p = rule.ipv6Prefix.length;
    const first = { value: rule.ipv6Prefix.value, length: 56 };
    const last = { value: rule.ipv6Prefix.value | (ipv6Mask(56) & ~ipv6Mask(p)), length: 56 };
    const layout = service?.ceInterfaceId ?? "draft-03";
    const lo = computeParameters(first, rule, layout);
    const hi = computeParameters(last, rule, layout);
    const name = formatIpv6Prefix(rule.ipv6Prefix);
    assert.equal(lo.ipv4Address, rule.ipv4Prefix.value, name);
    assert.equal(lo.psid, 0, name);
    assert.equal(
      formatIpv4(hi.ipv4Address),
      formatIpv4((rule.ipv4Prefix.value | ~ipv4Mask(rule.ipv4Prefix.length)) >>> 0),
      name,
    );
    assert.equal(hi.psid, 2 ** rule.psidLength - 1, name);
    assert.equal(selectRule(table, first)?.rule, rule, name);
    assert.equal(selectRule(table, last)?.rule, rule, name);
  }
});

test("ports per CE and BRs per service are the published ones", () => {
  const brs = new Map<string, Set<string>>();
  for (const { rule, service } of table.rules) {
    const id = service?.id ?? "";
    const ports = computeParameters({ value: rule.ipv6Prefix.value, length: 56 }, rule, "draft-03").portCount;
    assert.equal(ports, id === "ocn" ? 1008 : 240, formatIpv6Prefix(rule.ipv6Prefix));
    const set = brs.get(id) ?? new Set<string>();
    set.add(rule.br === null ? "" : formatIpv6(rule.br));
    brs.set(id, set);
  }
  assert.deepEqual([...(brs.get("v6plus") ?? [])], ["2404:9200:225:100::64"]);
  assert.deepEqual([...(brs.get("biglobe") ?? [])].sort(), [
    "2001:260:700:1::1:275",
    "2001:260:700:1::1:276",
  ]);
  assert.deepEqual([...(brs.get("ocn") ?? [])], ["2001:380:a120::9"]);
  assert.deepEqual([...(brs.get("nuro") ?? [])], ["2001:3b8:200:ff9::1"]);
  // BIGLOBE East (2404:7a80::/30) uses ::1:275, West (2404:7a84::/30) ::1:276
  for (const { rule, service } of table.rules) {
    if (service?.id !== "biglobe" || rule.br === null) continue;
    const east = ipv6PrefixContains({ value: 0x24047a80n << 96n, length: 30 }, rule.ipv6Prefix);
    assert.equal(formatIpv6(rule.br), east ? "2001:260:700:1::1:275" : "2001:260:700:1::1:276");
  }
});

test("the non-MAP-E prefixes overlap no MAP-E rule", () => {
  for (const entry of shippedNotMape()) {
    for (const { rule } of table.rules) {
      assert.ok(
        !ipv6PrefixContains(entry.prefix, rule.ipv6Prefix) &&
          !ipv6PrefixContains(rule.ipv6Prefix, entry.prefix),
        `${formatIpv6Prefix(entry.prefix)} / ${formatIpv6Prefix(rule.ipv6Prefix)}`,
      );
    }
  }
});
