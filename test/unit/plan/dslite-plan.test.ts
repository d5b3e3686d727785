import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { parseConfig } from "../../../src/plan/config.ts";
import {
  b4SourceFromPrefix,
  detectWanAddress,
  dsLitePlanOnHost,
  dsLitePlanWithoutHost,
  methodWithoutNetwork,
} from "../../../src/plan/desired-dslite.ts";
import { planWithoutHost } from "../../../src/plan/desired.ts";
import { MapectlError } from "../../../src/base/mapectl-error.ts";
import { WAN_ADDRESS_PLACEHOLDER } from "../../../src/plan/dslite-plan.ts";
import { isDsLitePlan, planMethod, unsupportedMethod } from "../../../src/plan/method.ts";
import { PlanError } from "../../../src/plan/plan.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../../src/plan/settings.ts";
import { DsLiteError } from "../../../src/provision/dslite.ts";
import { shippedAftrNames, shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import type { ObservedAddress } from "../../../src/plan/observed.ts";
import { addr, freshHost } from "../../helpers/observed-hosts.ts";
import { planFor, USER_PREFIX } from "../../helpers/plans.ts";

const TABLES = { table: shippedRuleTable(), notMape: shippedNotMape(), aftrNames: shippedAftrNames() };
const TRANSIX = "2404:8e00:12:3400::/56";
const AFTR = {
  name: "gw.transix.jp",
  address: "2404:8e00::feed:100",
  from: "tables",
  service: "transix",
} as const;

function settings(overrides: Partial<Settings> = {}): Settings {
  return { ...DEFAULT_SETTINGS, wan: "eth1", lan: ["eth2"], overrides: {}, forwards: [], ...overrides };
}

function address(address: string, extra: Partial<ObservedAddress> = {}): ObservedAddress {
  return { ...addr("eth1", address, 64), ...extra };
}

test("auto: MAP-E where a rule matches, DS-Lite with the service's AFTR name on a DS-Lite prefix", () => {
  const auto = settings({ method: "auto" });
  assert.deepEqual(methodWithoutNetwork(auto, parseIpv6Prefix(USER_PREFIX), TABLES), { method: "map-e" });
  assert.deepEqual(methodWithoutNetwork(auto, parseIpv6Prefix(TRANSIX), TABLES), {
    method: "ds-lite",
    aftr: { name: "gw.transix.jp", address: null, from: "tables", service: "transix" },
  });
  // neither: the MAP-E error, which says why no rule fits
  assert.throws(() => methodWithoutNetwork(auto, parseIpv6Prefix("2001:db8::/48"), TABLES), /rule/);
  // an AFTR of the user's means DS-Lite even on a MAP-E prefix
  const given = methodWithoutNetwork(
    settings({ method: "auto", aftr: "2001:db8::a" }),
    parseIpv6Prefix(USER_PREFIX),
    TABLES,
  );
  assert.equal(given.method === "ds-lite" && given.aftr.address, "2001:db8::a");
});

test("map-e stays MAP-E on a DS-Lite prefix (its own error comes later); ds-lite without an AFTR says where one comes from", () => {
  assert.deepEqual(methodWithoutNetwork(settings(), parseIpv6Prefix(TRANSIX), TABLES), { method: "map-e" });
  assert.throws(
    () => methodWithoutNetwork(settings({ method: "ds-lite" }), parseIpv6Prefix(USER_PREFIX), TABLES),
    DsLiteError,
  );
});

test("the DS-Lite plan: tunnel from the WAN's address to the AFTR, B4 192.0.0.2/29, no NAT fields", () => {
  const host = freshHost({
    addresses: [
      address("2404:8e00:12:3400::99", { temporary: true }),
      address("fe80::1", { scope: "link" }),
      address("2404:8e00:12:3400::1"),
    ],
  });
  assert.equal(detectWanAddress(host, "eth1"), "2404:8e00:12:3400::1");
  const context = {
    wan: "eth1",
    prefix: parseIpv6Prefix(TRANSIX),
    widen: false,
    prefixFrom: "x",
    gateway: "fe80::1",
  };
  const plan = dsLitePlanOnHost(settings({ tunnelName: "dslite" }), context, host, AFTR);
  assert.equal(planMethod(plan), "ds-lite");
  assert.ok(isDsLitePlan(plan));
  assert.deepEqual(plan.tunnel, {
    name: "dslite",
    local: "2404:8e00:12:3400::1",
    remote: "2404:8e00::feed:100",
    mtu: 1460,
  });
  assert.equal(plan.b4Address, "192.0.0.2");
  assert.equal(plan.b4PrefixLength, 29);
  assert.equal(plan.aftr.name, "gw.transix.jp");
  assert.equal("portSets" in plan, false);
  assert.equal(plan.addsSource, false);
  // a PD-only line gives the WAN no address: the source is the prefix's last /64, ::b4, added by mapectl
  const bare = freshHost({ addresses: [] });
  const added = dsLitePlanOnHost(settings(), context, bare, AFTR);
  assert.equal(added.tunnel.local, "2404:8e00:12:34ff::b4");
  assert.equal(added.addsSource, true);
  // and stays so once it is there (it is mapectl's, not the WAN's own), as does a MAP-E CE address
  const after = freshHost({ addresses: [address("2404:8e00:12:34ff::b4", { prefixLength: 128 })] });
  assert.equal(dsLitePlanOnHost(settings(), context, after, AFTR).addsSource, true);
  const ce = freshHost({ addresses: [address("2404:8e00:12:3400:1::1", { prefixLength: 128 })] });
  assert.equal(dsLitePlanOnHost(settings(), context, ce, AFTR, ["2404:8e00:12:3400:1::1"]).addsSource, true);
  assert.equal(b4SourceFromPrefix(parseIpv6Prefix("2001:db8:1:2::/64")), "2001:db8:1:2::b4");
});

test("away from the router the WAN address is a placeholder; forwards and bad names are refused", () => {
  const plan = dsLitePlanWithoutHost(settings(), AFTR);
  assert.equal(plan.tunnel.local, WAN_ADDRESS_PLACEHOLDER);
  const forward = { protocol: "tcp", port: 22, toAddress: "192.168.1.2", toPort: 22 } as const;
  assert.throws(() => dsLitePlanWithoutHost(settings({ forwards: [forward] }), AFTR), /AFTR's NAT/);
  assert.throws(() => dsLitePlanWithoutHost(settings({ tunnelName: "eth1" }), AFTR), PlanError);
  assert.throws(() => dsLitePlanWithoutHost(settings({ mtu: 9000 }), AFTR), PlanError);
  assert.throws(
    () => dsLitePlanWithoutHost(settings(), { ...AFTR, address: "not-an-address" }),
    /AFTR's address/,
  );
});

test("a MAP-E plan says map-e; ds-lite and ipip are both supported", () => {
  assert.equal(planFor(USER_PREFIX).method, "map-e");
  assert.equal(unsupportedMethod("ds-lite"), null);
  assert.equal(unsupportedMethod("ipip"), null);
});

test("the configuration takes method and aftr, and refuses an unknown method and a bad AFTR with the key", () => {
  const parsed = parseConfig('[parameters]\nmethod = "ds-lite"\naftr = "gw.transix.jp"\n', "c.toml");
  assert.equal(parsed.method, "ds-lite");
  assert.equal(parsed.aftr, "gw.transix.jp");
  assert.equal(parseConfig('[parameters]\nmethod = "ipip"\n', "c.toml").method, "ipip");
  assert.throws(() => parseConfig('[parameters]\nmethod = "6rd"\n', "c.toml"), /parameters\.method/);
  assert.throws(() => parseConfig('[parameters]\naftr = "a_b.jp"\n', "c.toml"), /parameters\.aftr/);
});

test("until up applies DS-Lite, a MAP-E plan is never built for method ds-lite (a usage error)", () => {
  const s = settings({ method: "ds-lite", prefix: USER_PREFIX, gateway: "fe80::1" });
  assert.throws(
    () => planWithoutHost(s, shippedRuleTable(), shippedNotMape()),
    (err: unknown) =>
      err instanceof MapectlError && err.category === "usage" && /not yet applied/.test(err.message),
  );
  assert.equal(
    planWithoutHost({ ...s, method: "auto" }, shippedRuleTable(), shippedNotMape()).plan.method,
    "map-e",
  );
});
