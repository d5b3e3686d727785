import assert from "node:assert/strict";
import { test } from "node:test";
import { isMapeError } from "../../../src/mape/errors.ts";
import { formatIpv6, parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { makeRule, type MapRuleSpec } from "../../../src/mape/rule.ts";
import { resolveParameters, type ProvisionedRules } from "../../../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { validateRuleFromSource } from "../../../src/rules/source-checks.ts";
import { mergeTables, parseRuleTable } from "../../../src/rules/table.ts";

const USER = "2404:7a82:4d02:4100::/56";
/** The user's line as a rules file would write it, with documentation IPv4 space. */
const GOOD: MapRuleSpec = {
  ipv6Prefix: "2404:7a82:4c00::/38",
  ipv4Prefix: "198.51.100.0/22",
  eaBits: 18,
  psidOffset: 4,
  br: "2001:db8::1",
};

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isMapeError(err)) throw err;
    assert.ok(!err.message.includes("\n"), err.message);
    return { code: err.code, message: err.message };
  }
  assert.fail("expected a refusal");
}

const fileWith = (rule: Partial<MapRuleSpec> & Record<string, unknown>) => () =>
  parseRuleTable({ rules: [{ ...GOOD, ...rule }] }, "/etc/mapectl/rules.json");

test("a rules file's BR must be a global unicast address", () => {
  for (const [br, kind] of [
    ["::1", /loopback/],
    ["::", /not a unicast address/],
    ["fe80::1", /link-local/],
    ["ff02::1", /not a unicast address/],
    ["fd00::1", /unique local/],
    ["::ffff:192.0.2.1", /IPv4-mapped/],
  ] as const) {
    const r = refusal(fileWith({ br }));
    assert.equal(r.code, "INVALID_RULE_TABLE", br);
    assert.match(r.message, /^\/etc\/mapectl\/rules\.json: rules\[0\]: .*: (BR|br) /, br);
    assert.match(r.message, kind, br);
  }
});

test("a rules file's IPv4 prefix must be global unicast; documentation prefixes pass", () => {
  for (const ipv4Prefix of [
    "0.0.0.0/22",
    "10.1.0.0/22",
    "100.64.0.0/22",
    "127.0.0.0/22",
    "169.254.0.0/22",
    "172.16.0.0/22",
    "192.168.4.0/22",
    "224.0.0.0/22",
    "240.0.0.0/22",
    "8.0.0.0/6",
  ]) {
    const r = refusal(fileWith({ ipv4Prefix }));
    assert.match(r.message, /rules\.json: rules\[0\]: .*IPv4 prefix lies in/, ipv4Prefix);
  }
  const broadcast = refusal(fileWith({ ipv4Prefix: "255.255.255.255/32", eaBits: 8 }));
  assert.match(broadcast.message, /255\.255\.255\.255/);
  for (const ipv4Prefix of ["192.0.2.0/24", "198.51.100.0/22", "203.0.113.0/24", "133.209.12.0/22"]) {
    parseRuleTable(
      { rules: [{ ...GOOD, ipv4Prefix, eaBits: 32 - Number(ipv4Prefix.split("/")[1]) + 8 }] },
      "r",
    );
  }
});

test("a rule whose blocks are a single port is refused", () => {
  // /22 leaves 10 suffix bits: 22 EA bits give a 12-bit PSID, and offset 4 + 12 = 16.
  const r = refusal(fileWith({ eaBits: 22 }));
  assert.match(r.message, /blocks of a single port/);
});

test("the existing limits also name the file: a PSID longer than the port allows", () => {
  const r = refusal(fileWith({ psidOffset: 9 }));
  assert.match(r.message, /^\/etc\/mapectl\/rules\.json: rules\[0\]: .*psid-offset 9 \+ psid-length 8/);
});

const provisioned = (source: "hb46pp" | "dhcpv6", spec: MapRuleSpec): ProvisionedRules => ({
  source,
  rules: [makeRule(spec)],
  interfaceId: null,
});
const resolveFrom = (p: ProvisionedRules) => () =>
  resolveParameters({
    prefix: parseIpv6Prefix(USER),
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
    provisioned: p,
  });

test("a rule from HB46PP with a loopback BR is refused naming HB46PP", () => {
  const r = refusal(resolveFrom(provisioned("hb46pp", { ...GOOD, br: "::1" })));
  assert.equal(r.code, "NO_MATCHING_RULE");
  assert.match(
    r.message,
    /^HB46PP: rule 2404:7a82:4c00::\/38 → 198\.51\.100\.0\/22: BR ::1 is the loopback address/,
  );
});

test("a rule from DHCPv6 whose BR is the CE's own address or inside its prefix is refused", () => {
  const ok = resolveFrom(provisioned("dhcpv6", GOOD))();
  const ce = formatIpv6(ok.params.ceAddress);
  const own = refusal(resolveFrom(provisioned("dhcpv6", { ...GOOD, br: ce })));
  assert.match(own.message, /^DHCPv6 S46: rule .*: BR .* is this CE's own address/);
  const inside = refusal(resolveFrom(provisioned("dhcpv6", { ...GOOD, br: "2404:7a82:4d02:4155::1" })));
  assert.match(inside.message, /lies inside this CE's own prefix 2404:7a82:4d02:4100::\/56/);
});

test("a rule from the network with a private IPv4 prefix is refused", () => {
  const r = refusal(resolveFrom(provisioned("hb46pp", { ...GOOD, ipv4Prefix: "192.168.0.0/22" })));
  assert.match(r.message, /^HB46PP: .*192\.168\.0\.0\/16 \(private\)/);
});

test("a port set with a single usable port (port 0 does not count) is refused", () => {
  // psid-offset 0, a 15-bit PSID: blocks of two ports, and PSID 0's block is ports 0 and 1.
  const spec: MapRuleSpec = {
    ipv6Prefix: "2404:7a82:4d00::/41",
    ipv4Prefix: "198.51.100.7/32",
    eaBits: 15,
    psidOffset: 0,
    br: "2001:db8::1",
  };
  const r = refusal(() =>
    resolveParameters({
      prefix: parseIpv6Prefix("2404:7a82:4d00::/56"),
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      provisioned: provisioned("hb46pp", spec),
    }),
  );
  assert.match(r.message, /PSID 0 leaves 1 usable port \(port 0 cannot be used\)/);
});

test("an override is checked as well, and named", () => {
  const r = refusal(() =>
    resolveParameters({
      prefix: parseIpv6Prefix(USER),
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      overrides: { br: "ff02::1" },
    }),
  );
  assert.equal(r.code, "INVALID_RULE");
  assert.match(r.message, /^the shipped rule table with br overridden: .*ff02::1 is not a unicast address/);
});

test("fields of the wrong type and unknown keys in a rules file are errors", () => {
  assert.match(
    refusal(fileWith({ br: 5 as unknown as string })).message,
    /rules\[0\]: "br" must be a string/,
  );
  assert.match(refusal(fileWith({ psidlength: 8 })).message, /rules\[0\]: unknown key "psidlength"/);
  const badName = () => parseRuleTable({ services: { x: { name: 5 } }, rules: [] }, "r.json");
  assert.match(refusal(badName).message, /r\.json: services\.x: "name" must be a string/);
  assert.match(refusal(() => parseRuleTable({ rule: [] }, "r.json")).message, /unknown key "rule"/);
});

test("overlapping user rules are errors, within a file and across files; covering a shipped rule is not", () => {
  const nested = refusal(() =>
    parseRuleTable(
      {
        rules: [
          GOOD,
          { ...GOOD, ipv6Prefix: "2404:7a82:4d00::/40", ipv4Prefix: "203.0.113.0/24", eaBits: 16 },
        ],
      },
      "a.json",
    ),
  );
  assert.match(
    nested.message,
    /^a\.json: rules\[1\]: its IPv6 prefix overlaps 2404:7a82:4c00::\/38 \(a\.json: rules\[0\]\)/,
  );
  const first = parseRuleTable({ rules: [GOOD] }, "a.json");
  const second = parseRuleTable({ rules: [{ ...GOOD, ipv6Prefix: "2404:7a83::/38" }] }, "b.json");
  const sameIpv4 = refusal(() => mergeTables(second, mergeTables(first, shippedRuleTable())));
  assert.match(sameIpv4.message, /^b\.json: rules\[0\]: its IPv4 prefix overlaps 198\.51\.100\.0\/22/);
  assert.match(sameIpv4.message, /\(a\.json: rules\[0\]\)/);
});

test("a rule from a user's file is labelled with the file, not as shipped", () => {
  const table = mergeTables(parseRuleTable({ rules: [GOOD] }, "/etc/mapectl/rules.json"), shippedRuleTable());
  const mine = resolveParameters({ prefix: parseIpv6Prefix(USER), table, notMape: shippedNotMape() });
  assert.equal(mine.source, "tables");
  assert.equal(mine.rulesFile, "/etc/mapectl/rules.json");
  const shipped = resolveParameters({
    prefix: parseIpv6Prefix(USER),
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
  });
  assert.equal(shipped.rulesFile, undefined);
});

test("every shipped rule passes the checks every source passes", () => {
  for (const [index, entry] of shippedRuleTable().rules.entries()) {
    validateRuleFromSource(entry.rule, { label: `shipped rules[${index}]`, code: "INVALID_RULE_TABLE" });
  }
});
