import assert from "node:assert/strict";
import { test } from "node:test";
import { ipipParameters, ipipPlanWithoutHost } from "../../../src/plan/desired-ipip.ts";
import { planWithoutHost } from "../../../src/plan/desired.ts";
import { parseConfig } from "../../../src/plan/config.ts";
import { parseCredentials } from "../../../src/plan/ipip-config.ts";
import { isIpipPlan, isMapePlan, planMethod } from "../../../src/plan/method.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../../src/plan/settings.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { MapectlError } from "../../../src/base/mapectl-error.ts";

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    ...DEFAULT_SETTINGS,
    wan: "eth1",
    lan: ["eth2"],
    prefix: "2001:db8:1200:3400::/56",
    gateway: "fe80::1",
    method: "ipip",
    overrides: {},
    forwards: [],
    ipip: {
      ...DEFAULT_SETTINGS.ipip,
      ipv4: "203.0.113.9",
      br: "2001:db8:ffff::64",
      interfaceId: "::1:2:3:4",
    },
    ...overrides,
  };
}

test("an IPIP plan: method ipip, the CE address, the fixed /32 and an update URL without any account", () => {
  const s = settings({
    ipip: {
      ...settings().ipip,
      updateUrl: "https://u.example/?p={password}",
      user: "me",
      password: "secret-1",
    },
  });
  const { plan } = ipipPlanWithoutHost(s, ipipParameters(s, null));
  assert.equal(planMethod(plan), "ipip");
  assert.ok(isIpipPlan(plan) && !isMapePlan(plan));
  assert.equal(plan.ceAddress, "2001:db8:1200:3400:1:2:3:4");
  assert.equal(plan.tunnel.local, plan.ceAddress);
  assert.equal(plan.tunnel.remote, "2001:db8:ffff::64");
  assert.equal(plan.tunnel.name, "ipip");
  assert.deepEqual(plan.update, { url: "https://u.example/?p={password}", intervalSeconds: 3600 });
  assert.doesNotMatch(JSON.stringify(plan), /secret-1|"me"/);
});

test("HB46PP's ipip entry wins over the settings; --br alone (the MAP-E override flag) gives the BR", () => {
  const hb = [
    { ipv6Local: "2001:db8:1200:3400::9", ipv6Remote: "2001:db8:eeee::1", ipv4: "198.51.100.8/29" },
  ];
  const p = ipipParameters(settings(), hb);
  assert.equal(p.from, "hb46pp");
  assert.equal(p.br, "2001:db8:eeee::1");
  const s = settings({ overrides: { br: "2001:db8:dddd::1" }, ipip: { ...settings().ipip, br: null } });
  assert.equal(ipipParameters(s, null).br, "2001:db8:dddd::1");
});

test("a MAP-E plan is never built for method ipip (a usage error)", () => {
  assert.throws(
    () =>
      planWithoutHost(settings({ prefix: "2404:7a82:4d02:4100::/56" }), shippedRuleTable(), shippedNotMape()),
    (err: unknown) =>
      err instanceof MapectlError &&
      err.category === "usage" &&
      /method ipip has no MAP-E plan/.test(err.message),
  );
});

test("[ipip] in the configuration: each value checked with its key; the password's problems never quote it", () => {
  const parsed = parseConfig(
    '[ipip]\nipv4 = "203.0.113.9"\nbr = "2001:db8:ffff::64"\ninterface-id = "1:2:3:4"\nupdate-url = "https://u.example/?v6={ipv6}"\nupdate-interval = 600\nuser = "me"\npassword = "pw"\n',
    "c.toml",
  );
  const ipip = parsed.ipip;
  assert.ok(ipip !== undefined);
  assert.equal(ipip.interfaceId, "::1:2:3:4");
  assert.equal(ipip.updateInterval, 600);
  assert.equal(ipip.password, "pw");
  assert.throws(() => parseConfig('[ipip]\nipv4 = "10.1.2.3"\n', "c.toml"), /c\.toml: ipip\.ipv4: .*private/);
  assert.throws(
    () => parseConfig('[ipip]\nupdate-url = "https://{user}.x/"\n', "c.toml"),
    /ipip\.update-url/,
  );
  assert.throws(() => parseConfig("[ipip]\nupdate-interval = 5\n", "c.toml"), /update-interval/);
  assert.throws(() => parseConfig("[ipip]\nsecret = 1\n", "c.toml"), /ipip/);
  assert.throws(
    () => parseConfig('[ipip]\npassword = "tab\\there"\n', "c.toml"),
    (err: unknown) =>
      /ipip\.password must not contain control characters/.test((err as Error).message) &&
      !/tab/.test((err as Error).message),
  );
});

test("a credentials file is TOML with password and an optional user; errors name keys, never values", () => {
  assert.deepEqual(parseCredentials('user = "me"\npassword = "pw"\n', "f"), { user: "me", password: "pw" });
  assert.deepEqual(parseCredentials('password = "pw"\n', "f"), { user: null, password: "pw" });
  for (const text of ['password = "unterminated-secret\n', 'pass = "typo-secret"\n', 'password = ""\n']) {
    assert.throws(
      () => parseCredentials(text, "f"),
      (err: unknown) => !/secret/.test((err as Error).message),
      text,
    );
  }
});
