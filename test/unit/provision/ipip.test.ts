import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import {
  ipipCeAddress,
  IpipError,
  ipipFromHb46pp,
  ipipFromSettings,
  parseFixedIpv4,
  parseInterfaceId,
} from "../../../src/provision/ipip.ts";
import {
  checkUpdateUrl,
  expandUpdateUrl,
  UpdateUrlError,
  updateVerdict,
} from "../../../src/provision/ipip-update.ts";

const PREFIX = parseIpv6Prefix("2001:db8:1200:3400::/56");

test("the fixed address: a host or a routed block up to a /24, global only", () => {
  assert.deepEqual(parseFixedIpv4("203.0.113.9", "x"), { address: "203.0.113.9", prefixLength: 32 });
  assert.deepEqual(parseFixedIpv4("198.51.100.8/29", "x"), { address: "198.51.100.8", prefixLength: 29 });
  assert.throws(() => parseFixedIpv4("198.51.100.0/23", "x"), /larger than a \/24/);
  assert.throws(() => parseFixedIpv4("192.168.1.1", "x"), /private/);
  assert.throws(() => parseFixedIpv4("100.64.0.1", "x"), /carrier-grade/);
  assert.throws(() => parseFixedIpv4("203.0.113.09", "x"), IpipError);
});

test("the interface ID is the low 64 bits, written as groups or as an address", () => {
  assert.equal(parseInterfaceId("1234:5678:9abc:def0", "x"), "::1234:5678:9abc:def0");
  assert.equal(parseInterfaceId("::c0:2:100:0", "x"), "::c0:2:100:0");
  assert.throws(() => parseInterfaceId("1:2:3:4:5", "x"), /low 64 bits/);
  assert.throws(() => parseInterfaceId("::", "x"), /not zero/);
  assert.throws(() => parseInterfaceId("zz", "x"), IpipError);
});

test("the CE address: the prefix's first /64 and the interface ID; HB46PP's own must be inside the prefix", () => {
  const sheet = ipipFromSettings({
    ipv4: "203.0.113.9",
    br: "2001:db8:ffff::64",
    interfaceId: "1234:5678:9abc:def0",
  });
  assert.equal(ipipCeAddress(sheet, PREFIX), "2001:db8:1200:3400:1234:5678:9abc:def0");
  assert.equal(
    ipipCeAddress(sheet, parseIpv6Prefix("2001:db8:1200:3456::/64")),
    "2001:db8:1200:3456:1234:5678:9abc:def0",
  );
  const hb = ipipFromHb46pp([
    { ipv6Local: "2001:db8:1200:3400::7", ipv6Remote: "2001:db8:ffff::64", ipv4: "203.0.113.9/32" },
  ]);
  assert.equal(hb.from, "hb46pp");
  assert.equal(ipipCeAddress(hb, PREFIX), "2001:db8:1200:3400::7");
  assert.throws(
    () => ipipCeAddress(hb, parseIpv6Prefix("2001:db8:9999::/56")),
    /not inside this line's prefix/,
  );
  assert.throws(() => ipipFromHb46pp([]), /sends no ipip parameters/);
});

test("missing parameters are each named with the flag and the key they come from", () => {
  assert.throws(
    () => ipipFromSettings({ ipv4: "203.0.113.9", br: null, interfaceId: null }),
    (err: unknown) =>
      err instanceof IpipError &&
      err.category === "no-parameters" &&
      /--br or \[ipip\] br/.test(err.message) &&
      /--interface-id/.test(err.message) &&
      !/--ipv4/.test(err.message),
  );
});

test("update URL templates: http(s), placeholders only known ones and never in the host, no user:password@", () => {
  const ok = "https://update.example.net/u?id={user}&pw={password}&v6={ipv6}&p={prefix}&v4={ipv4}";
  assert.equal(checkUpdateUrl(ok, "t"), ok);
  for (const [bad, why] of [
    ["ftp://example.net/{ipv6}", /https or http/],
    ["https://{user}.example.net/", /not in the host/],
    ["https://a:b@example.net/?{ipv6}", /user:password@/],
    ["https://example.net/?x={pass}", /unknown placeholder \{pass\}/],
    ["https://example.net/?x={ipv6", /unmatched/],
    ["https://example.net/?x= {ipv6}", /spaces/],
    ["not a url {ipv6}", /spaces|not a URL/],
  ] as const) {
    assert.throws(
      () => checkUpdateUrl(bad, "t"),
      (err: unknown) => err instanceof UpdateUrlError && why.test(err.message),
      bad,
    );
  }
});

test("expansion percent-encodes every value, so none can add a parameter; without {password} the account is Basic auth", () => {
  const values = {
    user: "a&b=c",
    password: "p@ss/#?&",
    ipv6: "2001:db8::1",
    prefix: "2001:db8::/56",
    ipv4: "203.0.113.9",
  };
  const withPassword = expandUpdateUrl("https://h.example/u?id={user}&pw={password}&p={prefix}", values);
  assert.equal(withPassword.authorization, null);
  const query = new URL(withPassword.url).searchParams;
  assert.equal(query.get("id"), "a&b=c");
  assert.equal(query.get("pw"), "p@ss/#?&");
  assert.equal(query.get("p"), "2001:db8::/56");
  assert.deepEqual([...query.keys()], ["id", "pw", "p"]);
  const basic = expandUpdateUrl("https://h.example/u?v6={ipv6}", values);
  assert.equal(basic.url, "https://h.example/u?v6=2001%3Adb8%3A%3A1");
  assert.equal(
    Buffer.from((basic.authorization ?? "").replace(/^Basic /, ""), "base64").toString(),
    "a&b=c:p@ss/#?&",
  );
});

test("verdicts: 401/403 and refusal words are refused, other errors failed, else registered; the password is scrubbed", () => {
  assert.equal(updateVerdict(401, "", []).kind, "refused");
  assert.equal(updateVerdict(403, "Forbidden", []).kind, "refused");
  assert.equal(updateVerdict(200, "NG: authentication failed", []).kind, "refused");
  assert.equal(updateVerdict(200, "認証エラー", []).kind, "refused");
  assert.equal(updateVerdict(500, "oops", []).kind, "failed");
  assert.equal(updateVerdict(200, "NG", []).kind, "failed");
  assert.equal(updateVerdict(200, "OK", []).kind, "registered");
  const echoed = updateVerdict(403, "bad login for pw=s%40cret and s@cret", ["s@cret"]);
  assert.equal(echoed.kind, "refused");
  assert.doesNotMatch(echoed.detail, /s@cret|s%40cret/);
  assert.match(echoed.detail, /^HTTP 403: /);
});
