import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIpv4, parseIpv4, parseIpv4Prefix } from "../../../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6, parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { MapeError } from "../../../src/mape/errors.ts";

const rfc5952: [string, string][] = [
  ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
  ["2001:DB8::1", "2001:db8::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // §4.2.3: the first of two equal runs
  ["2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"],
  ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // §4.2.2: a single zero group stays
  ["0:0:0:0:0:0:0:0", "::"],
  ["::1", "::1"],
  ["1::", "1::"],
  ["2404:7a82:4d02:4100:0085:d10d:0200:4100", "2404:7a82:4d02:4100:85:d10d:200:4100"],
  ["::ffff:c000:0201", "::ffff:192.0.2.1"],
  ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
];

for (const [input, expected] of rfc5952) {
  test(`IPv6 ${input} is written ${expected} (RFC 5952)`, () => {
    assert.equal(formatIpv6(parseIpv6(input)), expected);
  });
}

const badIpv6 = [
  "2001:db8:::1",
  "2001:db8::1::2",
  "12345::",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7",
  "fe80::1%eth0",
  "2001:db8::g",
  ":1::",
  "1.2.3.4::",
  "",
];
for (const input of badIpv6) {
  test(`"${input}" is refused as an IPv6 address with a MapeError`, () => {
    assert.throws(
      () => parseIpv6(input),
      (err) => err instanceof MapeError && err.code === "INVALID_ADDRESS",
    );
  });
}

test("an IPv6 prefix with host bits set names the right prefix", () => {
  assert.throws(() => parseIpv6Prefix("2404:7a82:4d02:4101::/56"), /the prefix is 2404:7a82:4d02:4100::\/56/);
});

test("IPv6 prefix lengths must be 0..128 without leading zeros", () => {
  for (const bad of ["2001:db8::/129", "2001:db8::/056", "2001:db8::/", "2001:db8::", "2001:db8::/-1"]) {
    assert.throws(
      () => parseIpv6Prefix(bad),
      (err) => err instanceof MapeError && err.code === "INVALID_PREFIX",
      bad,
    );
  }
  assert.equal(parseIpv6Prefix("::/0").length, 0);
  assert.equal(parseIpv6Prefix("2001:db8::1/128").length, 128);
});

test("IPv4 parsing is strict: no octal-looking octets, no short forms", () => {
  assert.equal(formatIpv4(parseIpv4("133.209.13.2")), "133.209.13.2");
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["133.209.013.2", "256.1.1.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "1..2.3", " 1.2.3.4"]) {
    assert.throws(
      () => parseIpv4(bad),
      (err) => err instanceof MapeError && err.code === "INVALID_ADDRESS",
      bad,
    );
  }
});

test("an IPv4 prefix with host bits set is refused, naming the right prefix", () => {
  assert.throws(() => parseIpv4Prefix("133.209.13.0/22"), /133\.209\.12\.0\/22/);
  assert.deepEqual(parseIpv4Prefix("0.0.0.0/0"), { value: 0, length: 0 });
  assert.throws(() => parseIpv4Prefix("10.0.0.0/33"), /prefix length/);
});
