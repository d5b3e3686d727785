import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cachingResolver,
  MapeDisabled,
  resolutionOf,
  type ParameterResolver,
  type Resolution,
} from "../../../src/daemon/parameter-sources.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { resolveParameters } from "../../../src/provision/parameters.ts";
import { provision } from "../../../src/provision/provision.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { BIGLOBE_REPLY, fakeHb46pp, ok, status, TXT, txt } from "../provision/fixtures.ts";

const PREFIX = parseIpv6Prefix("2404:7a82:4d02:4100::/56");
const OTHER = parseIpv6Prefix("2404:7a82:4d03:4200::/56");

function answer(ttlSeconds: number | null): Resolution {
  const resolved = resolveParameters({
    prefix: PREFIX,
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
  });
  return { resolved, ttlSeconds };
}

/** An inner resolver that answers from a script, one entry per call, and counts the calls. */
function scripted(steps: (() => Resolution)[]): ParameterResolver & { calls: number } {
  const state = { calls: 0 };
  const fn: ParameterResolver = () => {
    const step = steps[Math.min(state.calls, steps.length - 1)];
    state.calls++;
    if (step === undefined) throw new Error("no step");
    return Promise.resolve().then(step);
  };
  return Object.defineProperty(fn, "calls", { get: () => state.calls }) as ParameterResolver & {
    calls: number;
  };
}

async function hb46pp(routes: Parameters<typeof fakeHb46pp>[1], lookup = txt(TXT)) {
  return provision(
    { prefix: PREFIX, order: ["hb46pp"], table: shippedRuleTable(), notMape: shippedNotMape() },
    { hb46pp: fakeHb46pp(lookup, routes) },
  );
}

test("NXDOMAIN for 4over6.info is the network saying no: MapeDisabled by the network, with the spec's 1 h", async () => {
  const result = await hb46pp({}, { kind: "nxdomain" });
  assert.throws(
    () => resolutionOf(result),
    (err: unknown) =>
      err instanceof MapeDisabled &&
      err.byNetwork &&
      err.retryAfterSeconds === 3600 &&
      /hb46pp: NXDOMAIN for 4over6\.info/.test(err.message),
  );
});

test("one empty order is not the network saying no; a second one in a row is", async () => {
  const first = await hb46pp({ "/config": ok({ ...BIGLOBE_REPLY, order: [] }) });
  assert.throws(
    () => resolutionOf(first),
    (err: unknown) => err instanceof MapeDisabled && !err.byNetwork && /hb46pp: no-service/.test(err.message),
  );
  const second = await provision(
    {
      prefix: PREFIX,
      order: ["hb46pp"],
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      emptyOrderConfirmed: true,
    },
    { hb46pp: fakeHb46pp(txt(TXT), { "/config": ok({ ...BIGLOBE_REPLY, order: [] }) }) },
  );
  assert.throws(
    () => resolutionOf(second),
    (err: unknown) => err instanceof MapeDisabled && err.byNetwork && /twice in a row/.test(err.message),
  );
});

test("a provisioning server that fails says nothing about the line: not by the network, retry 10 min", async () => {
  const result = await hb46pp({ "/config": status(500) });
  assert.throws(
    () => resolutionOf(result),
    (err: unknown) => err instanceof MapeDisabled && !err.byNetwork && err.retryAfterSeconds === 600,
  );
});

test("a usable answer carries its TTL", async () => {
  const r = resolutionOf(await hb46pp({ "/config": ok(BIGLOBE_REPLY) }));
  assert.equal(r.resolved?.source, "hb46pp");
  assert.equal(r.ttlSeconds, 3600);
});

test("the cache asks again when the TTL runs out, and says when that is", async () => {
  let now = 1_000_000;
  const inner = scripted([() => answer(10)]);
  const resolver = cachingResolver(inner, () => now);
  assert.equal(resolver.nextQueryAt(), null);
  await resolver(PREFIX, "wan0");
  await resolver(PREFIX, "wan0");
  assert.equal(inner.calls, 1);
  assert.deepEqual(resolver.nextQueryAt(), { at: now + 10_000, why: "ttl" });
  now += 10_000;
  await resolver(PREFIX, "wan0");
  assert.equal(inner.calls, 2);
  assert.equal(resolver.queries(), 2);
});

test("a new prefix (the CE's address changes) is asked at once, whatever the TTL", async () => {
  const inner = scripted([() => answer(3600)]);
  const resolver = cachingResolver(inner, () => 0);
  await resolver(PREFIX, "wan0");
  await resolver(OTHER, "wan0");
  assert.equal(inner.calls, 2);
});

test("a refusal by the network is kept until its retry time, so periodic checks do not ask again", async () => {
  let now = 0;
  const refusal = new MapeDisabled("no MAP-E: NXDOMAIN", 3600, true);
  const inner = scripted([
    () => {
      throw refusal;
    },
    () => answer(60),
  ]);
  const resolver = cachingResolver(inner, () => now);
  await assert.rejects(resolver(PREFIX, "wan0"), refusal);
  now += 60_000;
  await assert.rejects(resolver(PREFIX, "wan0"), refusal);
  assert.equal(inner.calls, 1);
  assert.deepEqual(resolver.nextQueryAt(), { at: 3_600_000, why: "retry" });
  // but a new prefix is a new question
  await resolver(OTHER, "wan0");
  assert.equal(inner.calls, 2);
});

test("the retry after a refusal is capped (the daemon's upper bound)", async () => {
  const inner = scripted([
    () => {
      throw new MapeDisabled("no", 7200, true);
    },
  ]);
  const resolver = cachingResolver(inner, () => 0, { maxRetrySeconds: 900 });
  await assert.rejects(resolver(PREFIX, "wan0"));
  assert.deepEqual(resolver.nextQueryAt(), { at: 900_000, why: "retry" });
});

test("when asking again fails for a reason that is not the line's, the last answer stays, marked stale", async () => {
  let now = 0;
  const inner = scripted([
    () => answer(10),
    () => {
      throw new MapeDisabled("GET https://v6mig/config failed: ECONNREFUSED", 600, false);
    },
    () => answer(10),
  ]);
  const resolver = cachingResolver(inner, () => now);
  const first = await resolver(PREFIX, "wan0");
  assert.equal(first.stale, undefined);
  now = 10_000;
  const kept = await resolver(PREFIX, "wan0");
  assert.equal(kept.resolved, first.resolved);
  assert.match(kept.stale ?? "", /ECONNREFUSED; keeping the parameters .* next try in 600 s/);
  assert.deepEqual(resolver.nextQueryAt(), { at: 610_000, why: "retry" });
  now = 610_000;
  const fresh = await resolver(PREFIX, "wan0");
  assert.equal(fresh.stale, undefined);
  assert.equal(inner.calls, 3);
});

test("a failure with no earlier answer for this prefix is thrown, and kept until its retry", async () => {
  let now = 0;
  const inner = scripted([
    () => {
      throw new MapeDisabled("DNS error", 60, false);
    },
    () => answer(10),
  ]);
  const resolver = cachingResolver(inner, () => now);
  await assert.rejects(resolver(PREFIX, "wan0"), /DNS error/);
  await assert.rejects(resolver(PREFIX, "wan0"), /DNS error/);
  assert.equal(inner.calls, 1);
  now = 60_000;
  await resolver(PREFIX, "wan0");
  assert.equal(inner.calls, 2);
});

test("invalidate forgets answers and refusals (SIGHUP)", async () => {
  const inner = scripted([() => answer(3600)]);
  const resolver = cachingResolver(inner, () => 0);
  await resolver(PREFIX, "wan0");
  resolver.invalidate();
  assert.equal(resolver.nextQueryAt(), null);
  await resolver(PREFIX, "wan0");
  assert.equal(inner.calls, 2);
});
