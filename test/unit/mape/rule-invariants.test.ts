import assert from "node:assert/strict";
import { test } from "node:test";
import { MapeError } from "../../../src/mape/errors.ts";
import { makeRule, type MapRuleSpec } from "../../../src/mape/rule.ts";
import { computeParameters } from "../../../src/mape/compute.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";

const base: MapRuleSpec = {
  ipv6Prefix: "2404:7a82:4c00::/38",
  ipv4Prefix: "133.209.12.0/22",
  eaBits: 18,
  psidOffset: 4,
};

function refuses(spec: Partial<MapRuleSpec>, message: RegExp): void {
  assert.throws(
    () => makeRule({ ...base, ...spec }),
    (err) => err instanceof MapeError && err.code === "INVALID_RULE" && message.test(err.message),
    JSON.stringify(spec),
  );
}

test("the derived PSID length is EA − (32 − IPv4 prefix length)", () => {
  assert.equal(makeRule(base).psidLength, 8);
  assert.equal(makeRule({ ...base, psidLength: 8 }).psidLength, 8);
});

test("every rule invariant has its own error", () => {
  refuses({ eaBits: 49 }, /ea-bits 49 is not a whole number from 0 to 48/);
  refuses({ eaBits: 2.5 }, /ea-bits 2\.5/);
  refuses({ psidOffset: 17 }, /psid-offset 17/);
  refuses({ psidOffset: 9 }, /psid-offset 9 \+ psid-length 8 is more than 16/);
  refuses({ ipv6Prefix: "2404:7a82::/48" }, /\/48 \+ 18 EA bits = \/66 is longer than \/64/);
  refuses({ ipv6Prefix: "2404:7a82:4c01::/38" }, /bits set after \/38/);
  refuses({ ipv4Prefix: "133.209.13.0/22" }, /host bits set/);
  refuses({ psidLength: 7 }, /psid-length 7 contradicts ea-bits 18 − \(32 − 22\) = 8/);
  refuses({ psidLength: 8, psid: 3 }, /explicit psid is only valid when the EA bits carry no PSID/);
  refuses({ psid: 3 }, /explicit psid needs an explicit psid-length/);
  refuses({ br: "2001:260:700:1::1:zz" }, /br: .* is not an IPv6 address/);
  refuses({ br: "ff02::2" }, /not a unicast address/);
  refuses({ br: "::" }, /not a unicast address/);
});

test("a prefix shorter than rule prefix + EA bits, or longer than /64, is refused", () => {
  const rule = makeRule(base);
  assert.throws(
    () => computeParameters(parseIpv6Prefix("2404:7a82:4d00::/48"), rule, "draft-03"),
    (err) => err instanceof MapeError && err.code === "PREFIX_TOO_SHORT" && /\/56/.test(err.message),
  );
  assert.throws(
    () => computeParameters(parseIpv6Prefix("2404:7a82:4d02:4100::/80"), rule, "draft-03"),
    (err) => err instanceof MapeError && err.code === "PREFIX_TOO_LONG",
  );
  assert.throws(
    () => computeParameters(parseIpv6Prefix("2404:7a83::/56"), rule, "draft-03"),
    (err) => err instanceof MapeError && err.code === "NO_MATCHING_RULE",
  );
});

test("a /64-only line: the RA /64 is the end-user prefix", () => {
  const p = computeParameters(parseIpv6Prefix("2404:7a82:4d02:4100::/64"), makeRule(base), "draft-03");
  assert.equal(p.psid, 65);
  assert.equal(p.warnings.length, 0);
});

test("a sub-delegated prefix that is not subnet 0 of its /56 gets a warning", () => {
  const p = computeParameters(parseIpv6Prefix("2404:7a82:4d02:4110::/60"), makeRule(base), "draft-03");
  assert.equal(p.psid, 65);
  assert.match(p.warnings.join("\n"), /non-zero subnet ID after \/56/);
});
