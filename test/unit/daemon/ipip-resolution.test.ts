import assert from "node:assert/strict";
import { test } from "node:test";
import { ipipFromSources, ipipWithoutNetwork } from "../../../src/daemon/ipip-resolution.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../../src/plan/settings.ts";
import { DEFAULT_IDENTITY } from "../../../src/provision/hb46pp.ts";
import { lineMethod } from "../../../src/provision/line-method.ts";
import { provision, type ProvisionResult } from "../../../src/provision/provision.ts";
import { shippedAftrNames, shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { fakeHb46pp, ok, TXT, txt } from "../provision/fixtures.ts";

const PREFIX = "2404:7a82:4d02:4100::/56";
const ANSWER = {
  ttl: 3600,
  order: ["ipip"],
  ipip: [
    {
      ipv6_local: "2404:7a82:4d02:4100:1234:5678:9abc:def0",
      ipv6_remote: "2001:db8:1717::64",
      ipv4: "198.51.100.9/32",
    },
  ],
};

function settings(extra: Partial<Settings> = {}): Settings {
  return { ...DEFAULT_SETTINGS, wan: "wan0", method: "ipip", source: "hb46pp", ...extra };
}

async function asked(answer: unknown) {
  return provision(
    {
      prefix: parseIpv6Prefix(PREFIX),
      order: ["hb46pp"],
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      identity: DEFAULT_IDENTITY,
    },
    { hb46pp: fakeHb46pp(txt(TXT), { "/config": ok(answer) }) },
  );
}

/** ipipFromSources with the line's method as the resolver computes it, once per query. */
function fromSources(s: Settings, result: ProvisionResult) {
  const line = lineMethod(result.sources, result.prefix, {
    notMape: shippedNotMape(),
    aftrNames: shippedAftrNames(),
  });
  return ipipFromSources(s, result, line);
}

test("HB46PP's ipip entry gives the line's parameters, the CE address as the server registered it", async () => {
  const found = fromSources(settings(), await asked(ANSWER));
  assert.ok(found !== null);
  assert.equal(found.params.from, "hb46pp");
  assert.equal(found.params.ceAddress, "2404:7a82:4d02:4100:1234:5678:9abc:def0");
  assert.equal(found.params.br, "2001:db8:1717::64");
  assert.equal(found.params.ipv4Address, "198.51.100.9");
  assert.equal(found.ttlSeconds, 3600);
  // auto follows HB46PP's order too; map-e never takes IPIP
  assert.equal(fromSources(settings({ method: "auto" }), await asked(ANSWER))?.params.from, "hb46pp");
  assert.equal(fromSources(settings({ method: "map-e" }), await asked(ANSWER)), null);
});

test("without an ipip answer, --method ipip falls back to the sheet and says what it lacks", async () => {
  const mapE = await asked({ order: [], ttl: 600 });
  assert.throws(() => fromSources(settings(), mapE), /--ipv4 or \[ipip\] ipv4/);
  const sheet = settings({
    ipip: { ...DEFAULT_SETTINGS.ipip, ipv4: "203.0.113.9", br: "2001:db8::64", interfaceId: "::1" },
  });
  assert.equal(fromSources(sheet, mapE)?.params.from, "configuration");
  // the sheet alone, when HB46PP is not among the sources
  assert.equal(ipipWithoutNetwork({ ...sheet, source: "tables" }, ["tables"])?.from, "configuration");
  assert.equal(ipipWithoutNetwork(sheet, ["hb46pp"]), null);
});
