import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { lineMethod } from "../../../src/provision/line-method.ts";
import type { ParameterSource } from "../../../src/provision/parameters.ts";
import type { SourceReport } from "../../../src/provision/provision.ts";
import { shippedAftrNames, shippedNotMape } from "../../../src/rules/shipped.ts";

const TABLES = { notMape: shippedNotMape(), aftrNames: shippedAftrNames() };
const TRANSIX = parseIpv6Prefix("2404:8e00:12:3400::/56");
const BIGLOBE = parseIpv6Prefix("2404:7a82:4d02:4100::/56");

/** Only the fields lineMethod reads; the rest of a report does not decide the method. */
function report(source: ParameterSource, ok: boolean, details: Record<string, unknown> = {}): SourceReport {
  return { source, ok, status: ok ? "ok" : "no", details } as unknown as SourceReport;
}

test("HB46PP's order decides first: dslite with its AFTR, as v6 コネクト and transix answer", () => {
  const v6connect = report("hb46pp", false, { order: ["dslite"], aftr: "dslite.v6connect.net" });
  assert.deepEqual(lineMethod([v6connect, report("tables", true)], BIGLOBE, TABLES), {
    method: "ds-lite",
    from: "hb46pp",
    aftr: { name: "dslite.v6connect.net", address: null, from: "hb46pp", service: null },
  });
  const transix = report("hb46pp", false, { order: ["dslite"], aftr: "2404:8e00::feed:101" });
  const found = lineMethod([transix], TRANSIX, TABLES);
  assert.equal(found.method === "ds-lite" && found.aftr.address, "2404:8e00::feed:101");
});

test("HB46PP: the first known method of the order wins; map_e only when its answer was usable", () => {
  const both = report("hb46pp", true, { order: ["map_t", "map_e", "dslite"], aftr: "gw.transix.jp" });
  assert.deepEqual(lineMethod([both], BIGLOBE, TABLES), { method: "map-e", from: "hb46pp" });
  const ipip = report("hb46pp", false, { order: ["ipip", "map_e"] });
  assert.deepEqual(lineMethod([ipip], BIGLOBE, TABLES), { method: "ipip", from: "hb46pp" });
  // map_e listed but unusable: the next sources speak
  const broken = report("hb46pp", false, { order: ["map_e"] });
  assert.deepEqual(lineMethod([broken, report("dhcpv6", true)], BIGLOBE, TABLES), {
    method: "map-e",
    from: "dhcpv6",
  });
  const badAftr = report("hb46pp", false, { order: ["dslite"], aftr: "not a name" });
  const refused = lineMethod([badAftr], TRANSIX, TABLES);
  assert.ok(refused.method === null);
  assert.match(refused.why, /AFTR name from hb46pp/);
});

test("then DHCPv6 (option 64), then the tables (the prefix's service), and null when nothing fits", () => {
  const noHb46pp = report("hb46pp", false, { order: null });
  const dhcpv6 = report("dhcpv6", false, { aftrName: "dgw.xpass.jp" });
  const viaDhcpv6 = lineMethod([noHb46pp, dhcpv6, report("tables", false)], TRANSIX, TABLES);
  assert.equal(
    viaDhcpv6.method === "ds-lite" && `${viaDhcpv6.from} ${viaDhcpv6.aftr.name}`,
    "dhcpv6 dgw.xpass.jp",
  );
  const viaTables = lineMethod([noHb46pp, report("dhcpv6", false), report("tables", false)], TRANSIX, TABLES);
  assert.equal(viaTables.method === "ds-lite" && viaTables.aftr.name, "gw.transix.jp");
  assert.deepEqual(lineMethod([report("tables", true)], BIGLOBE, TABLES), {
    method: "map-e",
    from: "tables",
  });
  const none = lineMethod([report("tables", false)], parseIpv6Prefix("2001:db8::/48"), TABLES);
  assert.equal(none.method, null);
});
