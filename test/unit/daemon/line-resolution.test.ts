import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { settingsFrom } from "../../../src/cli/settings.ts";
import { dsLiteFromSources } from "../../../src/daemon/line-resolution.ts";
import { parameterResolver, sourceOrder } from "../../../src/daemon/parameter-sources.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { DEFAULT_SETTINGS } from "../../../src/plan/settings.ts";
import { claimedMethods } from "../../../src/provision/hb46pp-request.ts";
import { DEFAULT_IDENTITY } from "../../../src/provision/hb46pp.ts";
import { lineMethod } from "../../../src/provision/line-method.ts";
import { DEFAULT_ORDER, provision } from "../../../src/provision/provision.ts";
import { shippedAftrNames, shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { tempDir } from "../../helpers/temp-dir.ts";
import { fakeHb46pp, ok, TXT, txt } from "../provision/fixtures.ts";

// The lab's line: a BIGLOBE prefix, which no shipped DS-Lite service holds, so its AFTR can only
// come from the network (HB46PP here), as on any line the shipped table does not know.
const LAB_PREFIX = parseIpv6Prefix("2404:7a82:4d02:4100::/56");
const DS_LITE_ANSWER = { ttl: 86400, order: ["dslite"], dslite: { aftr: "aftr.lab.example" } };

/** settingsFrom as `up` calls it, with a configuration of our own (not the host's /etc/mapectl). */
function settingsOf(flags: Record<string, string>, config = "") {
  const file = join(tempDir("line-resolution"), "config.toml");
  writeFileSync(file, config);
  return settingsFrom({ config: file, ...flags }).settings;
}

test("--method ds-lite without --source asks HB46PP and DHCPv6 before the tables (the lab's 'no AFTR for this line')", () => {
  const network = DEFAULT_ORDER.filter((s) => s !== "manual");
  assert.deepEqual(sourceOrder(settingsOf({ method: "ds-lite" })), network);
  assert.deepEqual(sourceOrder(settingsOf({ method: "auto" })), network);
  // MAP-E keeps its default, and a source the user gave is kept whatever the method
  assert.deepEqual(sourceOrder(settingsOf({})), ["tables"]);
  assert.deepEqual(sourceOrder(settingsOf({ method: "ds-lite", source: "tables" })), ["tables"]);
  assert.deepEqual(sourceOrder(settingsOf({ method: "ds-lite", source: "hb46pp" })), ["hb46pp"]);
  const fromConfig = settingsOf({}, '[parameters]\nmethod = "ds-lite"\nsource = "tables"\n');
  assert.deepEqual(sourceOrder(fromConfig), ["tables"]);
  assert.deepEqual(sourceOrder(settingsOf({}, '[parameters]\nmethod = "ds-lite"\n')), network);
});

test("with the default sources, the AFTR of HB46PP's dslite answer is the line's, though the tables know MAP-E for its prefix", async () => {
  const settings = settingsOf({ method: "ds-lite", wan: "wan0" });
  const result = await provision(
    {
      prefix: LAB_PREFIX,
      order: sourceOrder(settings),
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      identity: { ...DEFAULT_IDENTITY, capability: claimedMethods(settings.method) },
    },
    { hb46pp: fakeHb46pp(txt(TXT), { "/config": ok(DS_LITE_ANSWER) }) },
  );
  const line = lineMethod(result.sources, result.prefix, {
    notMape: shippedNotMape(),
    aftrNames: shippedAftrNames(),
  });
  const found = dsLiteFromSources(settings, result, line);
  assert.ok(found !== null, "DS-Lite");
  assert.deepEqual(found.aftr, { name: "aftr.lab.example", address: null, from: "hb46pp", service: null });
  assert.equal(found.ttlSeconds, 86400);
});

test("--source tables on a line the shipped table has no AFTR for says that the network was not asked", async () => {
  const settings = { ...DEFAULT_SETTINGS, method: "ds-lite" as const, source: "tables" as const };
  const resolver = parameterResolver(settings, shippedRuleTable());
  await assert.rejects(
    async () => resolver(LAB_PREFIX, "wan0"),
    /no AFTR for this line.*--source tables asks only the shipped table: --source auto asks HB46PP and DHCPv6 first/,
  );
});
