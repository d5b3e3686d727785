import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cachingResolver,
  MapeDisabled,
  rememberHb46pp,
  resolutionOf,
  settingsIdentity,
  type ParameterResolver,
  type Resolution,
} from "../../../src/daemon/parameter-sources.ts";
import { memoryStore, type Hb46ppMemory } from "../../../src/host/hb46pp-state.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { parseConfig } from "../../../src/plan/config.ts";
import { DEFAULT_SETTINGS } from "../../../src/plan/settings.ts";
import { DEFAULT_IDENTITY, IMPLEMENTED_METHODS, redactUrl } from "../../../src/provision/hb46pp.ts";
import { claimedMethods } from "../../../src/provision/hb46pp-request.ts";
import { HB46PP_RETRY, queryHb46pp, type RetryWindow } from "../../../src/provision/hb46pp-flow.ts";
import { provision, provisionJson } from "../../../src/provision/provision.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { BIGLOBE_REPLY, fakeHb46pp, ok, status, TXT, txt } from "./fixtures.ts";

const PREFIX = parseIpv6Prefix("2404:7a82:4d02:4100::/56");
const TOKEN = "640756965820d3b9025b6941f9590af6802830ba58663fe8f043dc92b576f17a";

/** A seeded generator (mulberry32): the same spread on every run, and not all at one end. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function base(order: ("hb46pp" | "tables")[] = ["hb46pp", "tables"]) {
  return { prefix: PREFIX, order, table: shippedRuleTable(), notMape: shippedNotMape() };
}

test("capability: the implemented methods are map_e, dslite and ipip; a CE claims map_e unless told", async () => {
  assert.deepEqual(IMPLEMENTED_METHODS, ["map_e", "dslite", "ipip"]);
  assert.deepEqual(claimedMethods("map-e"), ["map_e"]);
  assert.deepEqual(claimedMethods("ds-lite"), ["dslite"]);
  assert.deepEqual(claimedMethods("ipip"), ["ipip"]);
  assert.deepEqual(claimedMethods("auto"), ["map_e", "dslite", "ipip"]);
  const io = fakeHb46pp(txt(TXT), { "/config": ok(BIGLOBE_REPLY) });
  await queryHb46pp(io, { identity: DEFAULT_IDENTITY });
  const url = new URL(io.requests[0]?.url ?? "");
  assert.equal(url.searchParams.getAll("capability").join(";"), "map_e");
});

test("the waits land inside the spec's windows, spread out, with a fake clock and seeded random", async () => {
  const windows: [string, RetryWindow][] = [
    ["no record", HB46PP_RETRY.noRecord],
    ["DNS error", HB46PP_RETRY.dnsError],
    ["HTTP error", HB46PP_RETRY.httpError],
  ];
  const random = seeded(46);
  for (const [name, window] of windows) {
    const waits: number[] = [];
    for (let i = 0; i < 40; i++) {
      const now = 5_000_000;
      const resolver = cachingResolver(
        () => Promise.reject(new MapeDisabled(name, window, name === "no record")),
        () => now,
        { random },
      );
      await assert.rejects(resolver(PREFIX, "wan0"));
      waits.push(((resolver.nextQueryAt()?.at ?? 0) - now) / 1000);
    }
    for (const w of waits)
      assert.ok(w >= window.minSeconds && w <= window.maxSeconds, `${name}: ${w} s outside the window`);
    assert.ok(new Set(waits).size > 30, `${name}: spread, not one value`);
    assert.ok(Math.min(...waits) < window.minSeconds + (window.maxSeconds - window.minSeconds) * 0.25);
    assert.ok(Math.max(...waits) > window.minSeconds + (window.maxSeconds - window.minSeconds) * 0.75);
  }
  // An answer without TTL: 20–24 h; with one: exactly the TTL.
  const table = shippedRuleTable();
  const answered = await provision(base(["tables"]), {});
  const resolved = answered.chosen;
  assert.ok(resolved !== null);
  const noTtl: number[] = [];
  for (let i = 0; i < 20; i++) {
    const resolver = cachingResolver(
      () => Promise.resolve({ resolved, ttlSeconds: null }),
      () => 0,
      {
        random,
      },
    );
    await resolver(PREFIX, "wan0");
    noTtl.push((resolver.nextQueryAt()?.at ?? 0) / 1000);
  }
  assert.ok(noTtl.every((w) => w >= 20 * 3600 && w <= 24 * 3600));
  assert.ok(new Set(noTtl).size > 15);
  const withTtl = cachingResolver(
    () => Promise.resolve({ resolved, ttlSeconds: 7200 }),
    () => 0,
    { random },
  );
  await withTtl(PREFIX, "wan0");
  assert.equal(withTtl.nextQueryAt()?.at, 7_200_000);
  assert.ok(table.rules.length > 0);
});

test("the server's token is kept and sent back on the next query", async () => {
  const memory = memoryStore();
  const first = await provision(
    { ...base(["hb46pp"]), identity: settingsIdentity(DEFAULT_SETTINGS, memory.load().token) },
    { hb46pp: fakeHb46pp(txt(TXT), { "/config": ok({ ...BIGLOBE_REPLY, token: TOKEN }) }) },
  );
  memory.save(rememberHb46pp(memory.load(), first));
  assert.equal(memory.current.token, TOKEN);
  const io = fakeHb46pp(txt(TXT), { "/config": ok(BIGLOBE_REPLY) });
  const second = await provision(
    { ...base(["hb46pp"]), identity: settingsIdentity(DEFAULT_SETTINGS, memory.load().token) },
    { hb46pp: io },
  );
  assert.equal(new URL(io.requests[0]?.url ?? "").searchParams.get("token"), TOKEN);
  // an answer without a token leaves the one we have
  assert.equal(rememberHb46pp(memory.current, second).token, TOKEN);
});

test("empty orders are counted while answers come, reset by a real one, untouched by failures", async () => {
  const run = (answer: ReturnType<typeof ok>) =>
    provision(base(["hb46pp"]), { hb46pp: fakeHb46pp(txt(TXT), { "/config": answer }) });
  let memory: Hb46ppMemory = { token: null, emptyOrders: 0 };
  memory = rememberHb46pp(memory, await run(ok({ order: [], ttl: 600 })));
  assert.equal(memory.emptyOrders, 1);
  memory = rememberHb46pp(memory, await run(status(503)));
  assert.equal(memory.emptyOrders, 1);
  memory = rememberHb46pp(memory, await run(ok({ order: [], ttl: 600 })));
  assert.equal(memory.emptyOrders, 2);
  memory = rememberHb46pp(memory, await run(ok(BIGLOBE_REPLY)));
  assert.equal(memory.emptyOrders, 0);
});

test("auto: one empty order or a server error keeps the last HB46PP answer, not the tables' differing BR", async () => {
  const hb = resolutionOf(
    await provision(base(), {
      hb46pp: fakeHb46pp(txt(TXT), {
        "/config": ok({ ...BIGLOBE_REPLY, map_e: { ...BIGLOBE_REPLY.map_e, br: "2001:260:700:1::1:276" } }),
      }),
    }),
  );
  for (const answer of [ok({ order: [], ttl: 600 }), status(503)]) {
    const fallback = resolutionOf(
      await provision(base(), { hb46pp: fakeHb46pp(txt(TXT), { "/config": answer }) }),
    );
    assert.equal(fallback.resolved?.source, "tables");
    assert.ok(fallback.fallback !== undefined);
    const steps: Resolution[] = [hb, fallback];
    let calls = 0;
    const inner: ParameterResolver = () => Promise.resolve(steps[Math.min(calls++, 1)] as Resolution);
    let now = 0;
    const resolver = cachingResolver(inner, () => now, { random: seeded(1) });
    await resolver(PREFIX, "wan0");
    now = 3_600_000;
    const kept = await resolver(PREFIX, "wan0");
    assert.equal(kept.resolved?.source, "hb46pp");
    assert.match(
      kept.stale ?? "",
      /keeping the parameters from the last answer \(hb46pp\) until the next try in \d+ s/,
    );
    const next = ((resolver.nextQueryAt()?.at ?? 0) - now) / 1000;
    assert.ok(next >= 600 && next <= 1800, `${next} s: 10–30 min`);
  }
});

test("a DS-Lite-only answer in auto: the tables serve, and it is reported", async () => {
  const r = resolutionOf(
    await provision(base(), {
      hb46pp: fakeHb46pp(txt(TXT), {
        "/config": ok({
          ttl: 86400,
          token: TOKEN,
          service_name: "v6 コネクト",
          enabler_name: "v6 コネクト",
          dslite: { aftr: "dslite.v6connect.net" },
          order: ["dslite"],
        }),
      }),
    }),
  );
  assert.equal(r.resolved?.source, "tables");
  assert.equal(r.fallback, undefined, "a real answer, not a transient failure");
  assert.match(
    r.notice ?? "",
    /v6 コネクト provisions DS-Lite \(AFTR dslite\.v6connect\.net\), which this CE did not claim/,
  );
  assert.deepEqual(r.renew, { minSeconds: 86400, maxSeconds: 86400 });
});

test("mesh: 1 is reported", async () => {
  const outcome = await queryHb46pp(
    fakeHb46pp(txt(TXT), { "/config": ok({ ...BIGLOBE_REPLY, map_e: { ...BIGLOBE_REPLY.map_e, mesh: 1 } }) }),
    { identity: DEFAULT_IDENTITY },
  );
  assert.equal(outcome.status, "ok");
  assert.ok(outcome.warnings.some((w) => /mesh is 1: this CE does not do mesh/.test(w)));
});

test("user and pass are sent but never shown: requests, messages and the JSON report redact them", async () => {
  const identity = { ...DEFAULT_IDENTITY, user: "alice", pass: "s3cret-Pa55" };
  const io = fakeHb46pp(txt(TXT), { "/config": status(500) });
  const result = await provision({ ...base(["hb46pp"]), identity }, { hb46pp: io });
  const sent = new URL(io.requests[0]?.url ?? "");
  assert.equal(sent.searchParams.get("user"), "alice");
  assert.equal(sent.searchParams.get("pass"), "s3cret-Pa55");
  const shown = JSON.stringify(provisionJson(result));
  assert.ok(!shown.includes("s3cret") && !shown.includes("alice"), shown);
  assert.match(shown, /pass=%28redacted%29/);
  assert.equal(redactUrl("https://x/c?pass=p&user=u"), "https://x/c?pass=%28redacted%29&user=%28redacted%29");
});

test("[hb46pp] in the configuration: identity and account, validated without echoing the pass", () => {
  const good = parseConfig(
    '[hb46pp]\nvendor-id = "acde48-lab"\nproduct = "mapectl"\nversion = "1_2"\nuser = "u"\npass = "p"\n',
    "c.toml",
  );
  assert.deepEqual(good.hb46pp, {
    vendorId: "acde48-lab",
    product: "mapectl",
    version: "1_2",
    user: "u",
    pass: "p",
  });
  assert.deepEqual(settingsIdentity({ ...DEFAULT_SETTINGS, hb46pp: good.hb46pp ?? {} }, TOKEN), {
    vendorId: "acde48-lab",
    product: "mapectl",
    version: "1_2",
    // the default method (map-e) claims MAP-E only
    capability: ["map_e"],
    user: "u",
    pass: "p",
    token: TOKEN,
  });
  assert.throws(
    () => parseConfig('[hb46pp]\nvendor-id = "mapectl"\n', "c.toml"),
    /c\.toml: hb46pp: vendor id "mapectl" must be a 6-hex-digit OUI/,
  );
  assert.throws(
    () => parseConfig('[hb46pp]\nversion = "1.2"\n', "c.toml"),
    /version "1\.2" must be 1 to 32 digits or _/,
  );
  assert.throws(
    () => parseConfig('[hb46pp]\npass = "secret word"\n', "c.toml"),
    (err: Error) => !err.message.includes("secret") && /user and pass go together/.test(err.message),
  );
});
