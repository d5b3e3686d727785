import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_IDENTITY } from "../../../src/provision/hb46pp.ts";
import {
  HB46PP_RETRY,
  Hb46ppSchedule,
  queryHb46pp,
  retryDelayMs,
} from "../../../src/provision/hb46pp-flow.ts";
import { BIGLOBE_REPLY, fakeHb46pp, ok, status, TXT, txt } from "./fixtures.ts";

const identity = DEFAULT_IDENTITY;

test("TXT → GET with the CE's parameters → MAP-E, with the TTL as the next query time", async () => {
  const io = fakeHb46pp(txt(TXT), { "/config": ok(BIGLOBE_REPLY) });
  const out = await queryHb46pp(io, { identity });
  assert.equal(out.status, "ok");
  assert.equal(out.disableMapE, false);
  assert.deepEqual(out.retry, { minSeconds: 3600, maxSeconds: 3600 });
  assert.equal(out.reply?.ttl, 3600);
  assert.match(out.message, /MAP-E, 1 rule, BR 2001:260:700:1::1:275/);
  assert.equal(io.requests.length, 1);
  const url = new URL(io.requests[0]?.url ?? "");
  assert.equal(io.requests[0]?.verify, true);
  assert.equal(url.searchParams.get("vendorid"), "acde48-mapectl");
  assert.equal(url.searchParams.get("product"), "mapectl");
  assert.equal(url.searchParams.get("version"), "0_1");
  // only what this CE can run: MAP-E
  assert.equal(url.searchParams.get("capability"), "map_e");
});

test("no TTL in the answer: ask again in 20–24 h", async () => {
  const out = await queryHb46pp(
    fakeHb46pp(txt(TXT), { "/config": ok({ ...BIGLOBE_REPLY, ttl: undefined }) }),
    { identity },
  );
  assert.equal(out.status, "ok");
  assert.deepEqual(out.retry, HB46PP_RETRY.noTtl);
});

test("NXDOMAIN and NODATA switch MAP-E from HB46PP off and retry in 1–3 h", async () => {
  for (const kind of ["nxdomain", "nodata"] as const) {
    const out = await queryHb46pp(fakeHb46pp({ kind }, {}), { identity });
    assert.equal(out.status, "no-record");
    assert.equal(out.disableMapE, true);
    assert.deepEqual(out.retry, { minSeconds: 3600, maxSeconds: 10800 });
    assert.match(out.message, /does not offer HB46PP provisioning; MAP-E from HB46PP is disabled/);
  }
});

test("other DNS failures and a malformed record retry in 1–10 min without disabling anything", async () => {
  const err = await queryHb46pp(
    fakeHb46pp({ kind: "error", code: "ETIMEOUT", message: "ETIMEOUT via 2001:db8::53" }, {}),
    { identity },
  );
  assert.equal(err.status, "dns-error");
  assert.equal(err.disableMapE, false);
  assert.deepEqual(err.retry, { minSeconds: 60, maxSeconds: 600 });
  assert.match(err.message, /ETIMEOUT via 2001:db8::53/);
  const bad = await queryHb46pp(fakeHb46pp(txt("v=v6mig-1 t=b"), {}), { identity });
  assert.equal(bad.status, "bad-record");
  assert.match(bad.message, /TXT 4over6.info url: is missing/);
});

test("307 is followed, relative or absolute, keeping the CE's parameters", async () => {
  const io = fakeHb46pp(txt(TXT), {
    "/config": status(307, "/v2/config"),
    "/v2/config": status(
      307,
      "https://other.example.jp/final?vendorid=acde48-v6pc_swg_hgw&product=V6MIG-ROUTER&version=0_00&capability=map_e",
    ),
    "/final": ok(BIGLOBE_REPLY),
  });
  const out = await queryHb46pp(io, { identity });
  assert.equal(out.status, "ok");
  assert.equal(out.urls.length, 3);
  const second = new URL(out.urls[1] ?? "");
  assert.equal(second.href.split("?")[0], "https://prov.example.jp/v2/config");
  assert.equal(second.searchParams.get("capability"), "map_e");
  assert.equal(
    out.urls[2],
    "https://other.example.jp/final?vendorid=acde48-v6pc_swg_hgw&product=V6MIG-ROUTER&version=0_00&capability=map_e",
  );
  assert.ok(io.requests.every((r) => r.verify));
});

test("redirect loops, 307 without Location, and a downgrade to http under t=b are HTTP errors", async () => {
  const loop = await queryHb46pp(fakeHb46pp(txt(TXT), { "/config": status(307, "/config") }), {
    identity,
    maxRedirects: 3,
  });
  assert.equal(loop.status, "http-error");
  assert.match(loop.message, /more than 3 redirects/);
  assert.equal(loop.urls.length, 4);
  const noLocation = await queryHb46pp(fakeHb46pp(txt(TXT), { "/config": status(307) }), { identity });
  assert.match(noLocation.message, /without a Location/);
  const downgrade = await queryHb46pp(
    fakeHb46pp(txt(TXT), { "/config": status(307, "http://prov.example.jp/config") }),
    { identity },
  );
  assert.equal(downgrade.status, "http-error");
  assert.match(downgrade.message, /plain http, but t=b/);
  assert.deepEqual(downgrade.retry, { minSeconds: 600, maxSeconds: 1800 });
});

test("a redirect never goes to a loopback, link-local, private or unspecified target, nor from https to http", async () => {
  const targets = [
    ["https://[::1]/config", /loopback/],
    ["https://[fe80::1]/config", /link-local/],
    ["https://[fd00::53]/config", /unique local/],
    ["https://[::]/config", /unspecified/],
    ["https://[::ffff:127.0.0.1]/config", /IPv4-mapped/],
    ["https://localhost/config", /loopback name/],
    ["https://user:pw@other.example.jp/config", /user:password/],
  ] as const;
  for (const [location, why] of targets) {
    const io = fakeHb46pp(txt(TXT), { "/config": status(307, location), "/final": ok(BIGLOBE_REPLY) });
    const out = await queryHb46pp(io, { identity });
    assert.equal(out.status, "http-error", location);
    assert.match(out.message, why);
    assert.equal(io.requests.length, 1, `${location} was requested`);
  }
  const tA = "v=v6mig-1 url=https://prov.example.jp/config t=a";
  const downgrade = await queryHb46pp(
    fakeHb46pp(txt(tA), { "/config": status(307, "http://prov.example.jp/final") }),
    { identity },
  );
  assert.equal(downgrade.status, "http-error");
  assert.match(downgrade.message, /plain http after https/);
  // spec §3.1: a record that is http itself (t=a) may redirect within http
  const plain = fakeHb46pp(txt("v=v6mig-1 url=http://prov.example.jp/config t=a"), {
    "/config": status(307, "http://other.example.jp/final"),
    "/final": ok(BIGLOBE_REPLY),
  });
  assert.equal((await queryHb46pp(plain, { identity })).status, "ok");
  // the I/O is asked to check what a redirect's name resolves to; the record's own server is not
  assert.deepEqual(
    plain.requests.map((r) => r.publicOnly),
    [false, true],
  );
});

test("403 and 404: this network does not know this CE", async () => {
  for (const code of [403, 404]) {
    const out = await queryHb46pp(fakeHb46pp(txt(TXT), { "/config": status(code) }), { identity });
    assert.equal(out.status, "unknown-ce");
    assert.equal(out.httpStatus, code);
    assert.match(out.message, /does not know this CE's source address/);
    assert.deepEqual(out.retry, HB46PP_RETRY.httpError);
    assert.equal(out.disableMapE, false);
  }
});

test("server errors, no answer and non-JSON bodies retry in 10–30 min", async () => {
  const e500 = await queryHb46pp(fakeHb46pp(txt(TXT), { "/config": status(500) }), { identity });
  assert.equal(e500.status, "http-error");
  assert.match(e500.message, /HTTP status 500/);
  const down = await queryHb46pp(
    {
      resolvers: ["2001:db8:53::53"],
      resolveTxt: () => Promise.resolve(txt(TXT)),
      get: () => Promise.resolve({ kind: "error", message: "connect ECONNREFUSED" }),
    },
    { identity },
  );
  assert.equal(down.status, "http-error");
  assert.match(down.message, /ECONNREFUSED/);
  const html = await queryHb46pp(fakeHb46pp(txt(TXT), { "/config": ok("<html>maintenance</html>") }), {
    identity,
  });
  assert.equal(html.status, "bad-reply");
  assert.match(html.message, /body: is not JSON/);
  assert.deepEqual(html.retry, HB46PP_RETRY.httpError);
});

test("one empty order is asked again in 10–30 min; a second in a row turns MAP-E off until the TTL", async () => {
  const io = () => fakeHb46pp(txt(TXT), { "/config": ok({ order: [], ttl: 7200, enabler_name: "VNE" }) });
  const first = await queryHb46pp(io(), { identity });
  assert.equal(first.status, "no-service");
  assert.equal(first.disableMapE, false);
  assert.deepEqual(first.retry, HB46PP_RETRY.httpError);
  assert.match(first.message, /VNE offers no IPv4 service .*one empty answer is not final/);
  const second = await queryHb46pp(io(), { identity, emptyOrderConfirmed: true });
  assert.equal(second.status, "no-service");
  assert.equal(second.disableMapE, true);
  assert.deepEqual(second.retry, { minSeconds: 7200, maxSeconds: 7200 });
  assert.match(second.message, /VNE offers no IPv4 service to this CE \(order is empty, twice in a row\)/);
});

test("a DS-Lite-only answer to a CE that claimed only map_e is reported, not a refusal of MAP-E", async () => {
  // transix's published answer, to a CE that never claimed dslite
  const ds = await queryHb46pp(
    fakeHb46pp(txt(TXT), {
      "/config": ok({ order: ["dslite"], dslite: { aftr: "2404:8e00::feed:101" }, service_name: "transix" }),
    }),
    { identity },
  );
  assert.equal(ds.status, "unclaimed");
  assert.equal(ds.disableMapE, false);
  assert.equal(
    ds.message,
    "transix provisions DS-Lite (AFTR 2404:8e00::feed:101), which this CE did not claim (capability=map_e) and cannot run; not taken as a refusal of MAP-E",
  );
  // a CE that claimed dslite (when it can run it) has been told its line is DS-Lite
  const claimed = await queryHb46pp(
    fakeHb46pp(txt(TXT), { "/config": ok({ order: ["dslite"], dslite: { aftr: "gw.transix.jp" } }) }),
    { identity: { ...identity, capability: ["map_e", "dslite"] } },
  );
  assert.equal(claimed.status, "not-map-e");
  assert.equal(claimed.disableMapE, true);
});

test("the token of an earlier answer is sent back", async () => {
  const token = "b".repeat(64);
  const io = fakeHb46pp(txt(TXT), { "/config": ok(BIGLOBE_REPLY) });
  await queryHb46pp(io, { identity: { ...identity, token } });
  assert.equal(new URL(io.requests[0]?.url ?? "").searchParams.get("token"), token);
});

test("re-query at the end of the TTL, or at once when the CE's IPv6 address changes", () => {
  const schedule = new Hb46ppSchedule();
  assert.equal(schedule.due(0, "2404:7a82:4d02:4100::/56"), "first");
  const dueAt = schedule.record(
    { retry: { minSeconds: 3600, maxSeconds: 3600 } },
    1000,
    "2404:7a82:4d02:4100::/56",
    () => 0.3,
  );
  assert.equal(dueAt, 1000 + 3_600_000);
  assert.equal(schedule.due(1000 + 3_599_999, "2404:7a82:4d02:4100::/56"), null);
  assert.equal(schedule.due(1000 + 3_600_000, "2404:7a82:4d02:4100::/56"), "due");
  assert.equal(schedule.due(5000, "2404:7a82:4d02:4200::/56"), "address-changed");
});

test("retry windows are drawn uniformly inside the spec's bounds", () => {
  for (const window of Object.values(HB46PP_RETRY)) {
    assert.equal(
      retryDelayMs(window, () => 0),
      window.minSeconds * 1000,
    );
    assert.equal(
      retryDelayMs(window, () => 0.999999999),
      Math.round(window.maxSeconds * 1000 * 0.999999999 + window.minSeconds * 1000 * 0.000000001),
    );
  }
  assert.deepEqual(HB46PP_RETRY.noRecord, { minSeconds: 3600, maxSeconds: 10800 });
  assert.deepEqual(HB46PP_RETRY.dnsError, { minSeconds: 60, maxSeconds: 600 });
  assert.deepEqual(HB46PP_RETRY.httpError, { minSeconds: 600, maxSeconds: 1800 });
  assert.deepEqual(HB46PP_RETRY.noTtl, { minSeconds: 72000, maxSeconds: 86400 });
});
