import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import type { Dhcpv6Io } from "../../../src/provision/dhcpv6-source.ts";
import { parametersJson, resolveParameters } from "../../../src/provision/parameters.ts";
import { provision, provisionJson, type ProvisionOptions } from "../../../src/provision/provision.ts";
import { DEFAULT_IDENTITY } from "../../../src/provision/hb46pp.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { answer, CLIENT_DUID, FakeLink, MAPE_OPTION, REPLY } from "./fake-dhcpv6.ts";
import { BIGLOBE_REPLY, fakeHb46pp, ok, TXT, txt } from "./fixtures.ts";

const PREFIX = parseIpv6Prefix("2404:7a82:4d02:4100::/56");

function base(extra: Partial<ProvisionOptions> = {}): ProvisionOptions {
  return {
    prefix: PREFIX,
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
    dhcpv6: { noInitialDelay: true },
    ...extra,
  };
}

function keaLike(): Dhcpv6Io {
  const link = new FakeLink((req) => [{ delay: 4, bytes: answer(req, REPLY, [MAPE_OPTION]) }]);
  return {
    open: () => Promise.resolve({ ok: true, transport: link, duid: CLIENT_DUID, bound: "[fe80::1%wan]:546" }),
    clock: link.clock,
    random: () => 0.5,
  };
}

test("HB46PP wins by default, and its result records where it came from", async () => {
  const result = await provision(base(), {
    hb46pp: fakeHb46pp(txt(TXT), { "/config": ok(BIGLOBE_REPLY) }),
    dhcpv6: keaLike(),
  });
  assert.equal(result.chosen?.source, "hb46pp");
  assert.deepEqual(
    result.sources.map((s) => [s.source, s.status]),
    [
      ["hb46pp", "ok"],
      ["dhcpv6", "ok"],
      ["tables", "ok"],
      ["manual", "not-configured"],
    ],
  );
  const json = provisionJson(result);
  const chosen = json.chosen;
  assert.ok(chosen !== null);
  assert.equal(chosen.source, "hb46pp");
  assert.equal(chosen.ipv4Address, "133.209.13.2");
  assert.equal(chosen.psid, 65);
  assert.equal(chosen.br, "2001:260:700:1::1:275");
  assert.equal(chosen.service, "biglobe");
  assert.equal(json.schemaVersion, 1);
  const sources = json.sources as Record<string, unknown>[];
  for (const s of sources) {
    for (const key of ["source", "ok", "error", "rules", "br", "ceInterfaceId", "ttl"])
      assert.ok(key in s, `${key} in ${String(s.source)}`);
  }
  assert.equal(sources[0]?.ttl, 3600);
  assert.equal(sources[0].ceInterfaceId, "draft-03");
});

test("a BR that differs between sources is shown side by side", async () => {
  const result = await provision(base({ order: ["dhcpv6", "tables"] }), { dhcpv6: keaLike() });
  assert.equal(result.chosen?.source, "dhcpv6");
  const br = result.disagreements.find((d) => d.field === "br");
  assert.deepEqual(br?.values, { dhcpv6: "2001:db8:ffff::1", tables: "2001:260:700:1::1:275" });
  const rule = result.disagreements.find((d) => d.field === "rule");
  assert.ok(rule !== undefined, "the /34 Kea rule and the table's /38 differ");
  // Both rules map this prefix to the same IPv4 address and PSID.
  assert.equal(
    result.disagreements.find((d) => d.field === "ipv4Address"),
    undefined,
  );
  assert.equal(
    result.disagreements.find((d) => d.field === "psid"),
    undefined,
  );
});

test("NXDOMAIN: HB46PP is off, and the next source in order is used", async () => {
  const result = await provision(base(), { hb46pp: fakeHb46pp({ kind: "nxdomain" }, {}), dhcpv6: keaLike() });
  const hb = result.sources[0];
  assert.equal(hb?.status, "no-record");
  assert.equal(hb.disableMapE, true);
  assert.deepEqual(hb.retry, { minSeconds: 3600, maxSeconds: 10800 });
  assert.equal(result.chosen?.source, "dhcpv6");
});

test("a DS-Lite-only answer to a MAP-E-only CE does not stop the fall-back to the tables", async () => {
  const io = fakeHb46pp(txt(TXT), {
    "/config": ok({ order: ["dslite"], dslite: { aftr: "gw.transix.jp" }, ttl: 600 }),
  });
  const result = await provision(base({ order: ["hb46pp", "tables"] }), { hb46pp: io });
  assert.equal(result.chosen?.source, "tables");
  assert.equal(result.sources[0]?.status, "unclaimed");
  assert.equal(result.sources[0].authoritative, false);
  assert.match(
    result.sources[0].error ?? "",
    /DS-Lite \(AFTR gw\.transix\.jp\), which this CE did not claim/,
  );
});

test("a DS-Lite answer to a CE that claimed DS-Lite stops the fall-back to the tables", async () => {
  const io = fakeHb46pp(txt(TXT), {
    "/config": ok({ order: ["dslite"], dslite: { aftr: "gw.transix.jp" }, ttl: 600 }),
  });
  const identity = { ...DEFAULT_IDENTITY, capability: ["map_e", "dslite"] };
  const result = await provision(base({ order: ["hb46pp", "tables"], identity }), { hb46pp: io });
  assert.equal(result.chosen, null);
  assert.match(result.reason ?? "", /^hb46pp: .*DS-Lite \(AFTR gw\.transix\.jp\), not MAP-E/);
  assert.equal(result.sources[0]?.authoritative, true);
  // The tables were still asked, so the report can show them.
  assert.equal(result.sources[1]?.ok, true);
});

test("HB46PP rules that do not cover the prefix make that source unusable, with the reason", async () => {
  const other = {
    ...BIGLOBE_REPLY,
    map_e: {
      ...BIGLOBE_REPLY.map_e,
      rules: [{ ipv6: "2001:db8::/40", ipv4: "192.0.2.0/24", ea_length: 16, psid_offset: 6 }],
    },
  };
  const result = await provision(base({ order: ["hb46pp", "tables"] }), {
    hb46pp: fakeHb46pp(txt(TXT), { "/config": ok(other) }),
  });
  assert.equal(result.sources[0]?.status, "no-rule");
  assert.match(
    result.sources[0].error ?? "",
    /none of the 1 rule from HB46PP covers 2404:7a82:4d02:4100::\/56/,
  );
  assert.equal(result.chosen?.source, "tables");
});

test("HB46PP version 1 gives the RFC 7597 interface ID unless the user forces one", async () => {
  const v1 = { ...BIGLOBE_REPLY, map_e: { ...BIGLOBE_REPLY.map_e, version: 1 } };
  const io = fakeHb46pp(txt(TXT), { "/config": ok(v1) });
  const result = await provision(base({ order: ["hb46pp"] }), { hb46pp: io });
  assert.equal(result.chosen?.params.interfaceId, "rfc7597");
  const forced = await provision(base({ order: ["hb46pp"], interfaceId: "draft-03" }), { hb46pp: io });
  assert.equal(forced.chosen?.params.interfaceId, "draft-03");
});

test("manual rule: used when ranked first, reported when given", async () => {
  const manualRule = {
    ipv6Prefix: "2404:7a82:4c00::/38",
    ipv4Prefix: "133.209.12.0/22",
    eaBits: 18,
    psidOffset: 4,
    br: "2001:db8::9",
  };
  const result = await provision(base({ order: ["manual", "tables"], manualRule }), {});
  assert.equal(result.chosen?.source, "manual");
  assert.deepEqual(
    result.disagreements.map((d) => d.field),
    ["br"],
  );
});

test("no source at all: the reason lists each", async () => {
  const result = await provision(
    base({ prefix: parseIpv6Prefix("2001:db8:1200::/56"), order: ["hb46pp", "dhcpv6", "tables"] }),
    {},
  );
  assert.equal(result.chosen, null);
  assert.equal(
    result.reason,
    "no source gives MAP-E parameters for 2001:db8:1200::/56 (hb46pp: unavailable, dhcpv6: unavailable, tables: no-rule)",
  );
});

test("resolveParameters without provisioned rules is unchanged (calc)", () => {
  const r = resolveParameters({ prefix: PREFIX, table: shippedRuleTable(), notMape: shippedNotMape() });
  assert.equal(r.source, "tables");
  assert.equal(parametersJson(r).source, "tables");
});
