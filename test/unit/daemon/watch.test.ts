import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import type { ConvergeResult } from "../../../src/daemon/converge.ts";
import {
  cachingResolver,
  MapeDisabled,
  type ParameterResolver,
  type Resolution,
} from "../../../src/daemon/parameter-sources.ts";
import { DEFAULT_WATCH, Watcher, type WatchDeps } from "../../../src/daemon/watch.ts";
import type { BootTableChange } from "../../../src/host/boot-table.ts";
import type { DaemonEvent } from "../../../src/host/event-log.ts";
import { formatIpv6Prefix, parseIpv6Prefix, type Ipv6Prefix } from "../../../src/mape/ipv6.ts";
import { HostNotReady } from "../../../src/plan/desired.ts";
import type { NatFlow } from "../../../src/plan/port-usage.ts";
import type { Action } from "../../../src/plan/reconcile.ts";
import type { Plan } from "../../../src/plan/method.ts";
import { DEFAULT_SETTINGS } from "../../../src/plan/settings.ts";
import { resolveParameters } from "../../../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { planFor } from "../../helpers/plans.ts";
import { dsLiteCasePlan } from "../render/cases.ts";

const FIRST = "2404:7a82:4d02:4100::/56";
const SECOND = "2404:7a82:4d03:4200::/56";
const table = shippedRuleTable();

function action(id: string): Action {
  return { id, summary: id, apply: { argv: ["true"] }, undo: null };
}

function answer(prefix: Ipv6Prefix, ttlSeconds: number | null): Resolution {
  return { resolved: resolveParameters({ prefix, table, notMape: shippedNotMape() }), ttlSeconds };
}

/**
 * A Watcher whose host is a script: converge asks the resolver for the current prefix, as the real
 * one does, and reports a change the first time a prefix is seen; withdraw removes once.
 */
function harness(inner: ParameterResolver, options: Partial<typeof DEFAULT_WATCH> = {}) {
  const events: DaemonEvent[] = [];
  const h = {
    prefix: FIRST,
    notReady: false,
    applied: null as string | null,
    /** The plan the fake converge returns; null: MAP-E's for the current prefix. */
    plan: null as Plan | null,
    converges: 0,
    withdrawals: 0,
    monitorStarts: 0,
    flows: [] as NatFlow[],
    /** What the fake converge says it did to the boot table, if anything. */
    bootTable: undefined as BootTableChange | undefined,
    onChange: ((line: string) => {
      throw new Error(`monitor not started: ${line}`);
    }) as (line: string) => void,
    onExit: ((why: string) => {
      throw new Error(`monitor not started: ${why}`);
    }) as (why: string) => void,
    events,
    messages: () => events.map((e) => e.message),
  };
  const deps: Partial<WatchDeps> = {
    converge: async (_settings, _table, _runner, _options, resolver): Promise<ConvergeResult> => {
      h.converges++;
      if (h.notReady) throw new HostNotReady("prefix", "no IPv6 prefix on wan0 yet");
      if (resolver === undefined) throw new Error("the daemon passes its resolver");
      const resolution = await resolver(parseIpv6Prefix(h.prefix), "wan0");
      const changed = h.applied !== h.prefix;
      h.applied = h.prefix;
      return {
        plan: h.plan ?? planFor(h.prefix),
        source: "hb46pp",
        prefixFrom: `${h.prefix} from the delegated prefix`,
        actions: changed ? [action("tunnel"), action("nat")] : [],
        changed,
        flushed: null,
        stale: resolution.stale ?? null,
        notice: resolution.notice ?? null,
        vyosDrift: [],
        ...(h.bootTable === undefined ? {} : { bootTable: h.bootTable }),
      };
    },
    withdraw: () => {
      h.withdrawals++;
      const had = h.applied !== null;
      h.applied = null;
      return Promise.resolve(had ? [action("nat"), action("tunnel")] : []);
    },
    readFlows: () => Promise.resolve(h.flows),
    monitor: (onChange, onExit) => {
      h.onChange = onChange;
      h.onExit = onExit;
      return {
        start: () => {
          h.monitorStarts++;
        },
        stop: () => undefined,
      };
    },
    emit: (event) => {
      events.push(event);
    },
    makeResolver: (_settings, _table, maxRetrySeconds) =>
      cachingResolver(inner, Date.now, { maxRetrySeconds }),
  };
  const watcher = new Watcher(
    () => ({ settings: { ...DEFAULT_SETTINGS, wan: "wan0", lan: ["lan0"] }, table }),
    { run: () => Promise.reject(new Error("no commands in this test")) },
    { ...DEFAULT_WATCH, ...options },
    deps,
  );
  return { h, watcher };
}

/** Lets the promise chains that the timers started finish (the converge fakes resolve at once). */
/** The harness's daemon, started, with its first converge done. */
async function started(inner: ParameterResolver, options: Partial<typeof DEFAULT_WATCH> = {}) {
  const running = harness(inner, options);
  running.watcher.start();
  await settle();
  return running;
}

/** A resolver that answers with `ttlSeconds` once, then refuses as `then` says: every call counted. */
function answersOnce(ttlSeconds: number, then: MapeDisabled): ParameterResolver & { calls: number } {
  return counting((call, prefix) => {
    if (call === 0) return answer(prefix, ttlSeconds);
    throw then;
  });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

async function advance(ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(Math.min(step, ms - t));
    await settle();
  }
}

function counting(
  step: (call: number, prefix: Ipv6Prefix) => Resolution,
): ParameterResolver & { calls: number } {
  const state = { calls: 0 };
  const fn: ParameterResolver = (prefix) => {
    const call = state.calls++;
    return Promise.resolve().then(() => step(call, prefix));
  };
  return Object.defineProperty(fn, "calls", { get: () => state.calls }) as ParameterResolver & {
    calls: number;
  };
}

beforeEach(() => {
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_800_000_000_000 });
});
afterEach(() => {
  mock.timers.reset();
});

test("the provisioning TTL running out wakes the daemon: HB46PP is asked again with nothing else happening", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 10));
  const { h, watcher } = await started(inner);
  assert.equal(inner.calls, 1);
  // well before the periodic check (60 s): only the TTL can explain a second query
  await advance(10_500);
  assert.equal(inner.calls, 2);
  await advance(10_500);
  assert.equal(inner.calls, 3);
  assert.ok(
    h.messages().some((m) => /^provisioning TTL expired: asked hb46pp again: parameters unchanged/.test(m)),
    h.messages().join("\n"),
  );
  await watcher.stop();
});

test("a netlink event right after a timer's wake joins the timer's round instead of renaming it", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 10));
  const { h, watcher } = await started(inner);
  // the TTL's timer fires 50 ms after the 10 s; its round waits out the debounce (150 ms)
  await advance(10_100);
  assert.equal(inner.calls, 1, "the round has not started yet");
  h.onChange("2404:7a82:4d02:4100::/56 dev lo proto boot metric 1024 pref medium");
  await advance(500);
  assert.equal(inner.calls, 2, "one round for both");
  const messages = h.messages().join("\n");
  assert.match(messages, /^provisioning TTL expired: asked hb46pp again: parameters unchanged/m);
  assert.doesNotMatch(messages, /^netlink change: asked hb46pp again/m);
  await watcher.stop();
});

test("the daemon's events about the line say its method; the others carry none", async () => {
  const inner = counting((_call, prefix) => answer(prefix, null));
  const mape = await started(inner);
  const applied = mape.h.events.find((e) => /^start: applied /.test(e.message));
  assert.equal(applied?.method, "map-e", JSON.stringify(mape.h.events));
  assert.equal(mape.h.events.find((e) => /watch starting/.test(e.message))?.method, undefined);
  await mape.watcher.stop();
  const ds = harness(inner);
  ds.h.plan = dsLiteCasePlan();
  ds.watcher.start();
  await settle();
  const line = ds.h.events.find((e) => /^start: applied /.test(e.message));
  assert.match(line?.message ?? "", /B4 192\.0\.0\.2 via AFTR gw\.transix\.jp/);
  assert.equal(line?.method, "ds-lite");
  await ds.watcher.stop();
});

test("the network disabling MAP-E takes it down once, logs it once, and does not ask again before the retry", async () => {
  const nxdomain = "no MAP-E for the prefix: hb46pp: NXDOMAIN for 4over6.info";
  const inner = answersOnce(30, new MapeDisabled(nxdomain, 3600, true));
  const { h, watcher } = await started(inner);
  await advance(30_500);
  assert.equal(h.withdrawals, 1);
  assert.equal(h.applied, null);
  // our own withdrawal's netlink events, and more of them, change nothing and say nothing new
  for (let i = 0; i < 5; i++) {
    h.onChange("Deleted ...");
    await advance(300);
  }
  await advance(60_000); // a periodic check too
  assert.equal(inner.calls, 2, "the refusal is kept until its retry time");
  const disabled = h.messages().filter((m) => /MAP-E disabled by the network/.test(m));
  assert.equal(disabled.length, 1, h.messages().join("\n"));
  assert.match(disabled[0] ?? "", /NXDOMAIN.*removed the tunnel, CE address and NAT; asking again in 3600 s/);
  await watcher.stop();
});

test("while disabled, a new prefix is a new question: asked at once, not after the retry", async () => {
  const inner = counting((_call, prefix) => {
    if (formatIpv6Prefix(prefix) === FIRST)
      throw new MapeDisabled("no MAP-E for the prefix: hb46pp: NXDOMAIN", 3600, true);
    return answer(prefix, 3600);
  });
  const { h, watcher } = await started(inner);
  assert.equal(h.applied, null);
  h.prefix = SECOND;
  h.onChange("unreachable 2404:7a82:4d03:4200::/56 dev lo");
  await advance(500);
  assert.equal(inner.calls, 2);
  assert.equal(h.applied, SECOND);
  assert.ok(h.messages().some((m) => /^netlink change: applied tunnel, nat/.test(m)));
  await watcher.stop();
});

test("a stalled HB46PP query for the old prefix does not hold back the converge on a new one", async () => {
  // the first query (the old prefix) never answers, as a server holding the exchange open would
  let calls = 0;
  const inner: ParameterResolver = (prefix) => {
    calls++;
    return formatIpv6Prefix(prefix) === FIRST
      ? new Promise<Resolution>(() => undefined)
      : Promise.resolve(answer(prefix, 3600));
  };
  const { h, watcher } = await started(inner);
  assert.equal(calls, 1);
  assert.equal(h.applied, null);
  h.prefix = SECOND;
  h.onChange("unreachable 2404:7a82:4d03:4200::/56 dev lo");
  await advance(500);
  assert.equal(calls, 2);
  assert.equal(h.applied, SECOND, h.messages().join("\n"));
  assert.ok(h.messages().some((m) => /provisioning query given up/.test(m)));
  assert.ok(h.messages().some((m) => /^netlink change: applied tunnel, nat/.test(m)));
  await watcher.stop();
});

test("a provisioning server that stops answering does not take a working path down", async () => {
  const refused = "GET https://v6mig.ngn.test/config failed: ECONNREFUSED";
  const inner = answersOnce(10, new MapeDisabled(refused, 600, false));
  const { h, watcher } = await started(inner);
  await advance(10_500);
  assert.equal(inner.calls, 2);
  assert.equal(h.withdrawals, 0);
  assert.equal(h.applied, FIRST);
  await advance(120_000);
  const stale = h
    .messages()
    .filter((m) => /asking for parameters failed: .*ECONNREFUSED; keeping the parameters/.test(m));
  assert.equal(stale.length, 1, h.messages().join("\n"));
  assert.equal(inner.calls, 2, "asked again only after the 10 min retry");
  await watcher.stop();
});

test("the boot table: each rewrite logged; a failure to write it warned once until it is written", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 3600));
  const { h, watcher } = harness(inner);
  h.bootTable = { path: "/config/mapectl/mapectl.nft", action: "written" };
  watcher.start();
  await settle();
  assert.ok(
    h.messages().includes("wrote /config/mapectl/mapectl.nft: the boot hook loads this table at boot"),
  );
  h.bootTable = {
    path: "/config/mapectl/mapectl.nft",
    action: "failed",
    error: "EROFS: read-only file system",
  };
  for (let i = 0; i < 3; i++) {
    h.onChange(`Deleted 2404:... ${String(i)}`);
    await advance(3000);
  }
  const failures = h.events.filter((e) =>
    /could not update \/config\/mapectl\/mapectl\.nft, .*EROFS/.test(e.message),
  );
  assert.equal(failures.length, 1, h.messages().join("\n"));
  assert.equal(failures[0]?.level, "warning");
  h.bootTable = { path: "/config/mapectl/mapectl.nft", action: "written" };
  h.onChange("Deleted 2404:... again");
  await advance(3000);
  assert.equal(h.messages().filter((m) => m.startsWith("wrote /config/mapectl/mapectl.nft")).length, 2);
  await watcher.stop();
});

test("waiting for a prefix is logged once, however many events and retries come", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 3600));
  const { h, watcher } = harness(inner);
  h.notReady = true;
  watcher.start();
  await settle();
  for (let i = 0; i < 5; i++) {
    h.onChange("Deleted 2404:...");
    await advance(3000);
  }
  assert.equal(
    h.messages().filter((m) => /waiting: no IPv6 prefix/.test(m)).length,
    1,
    h.messages().join("\n"),
  );
  h.notReady = false;
  h.onChange("unreachable 2404:7a82:4d02:4100::/56");
  await advance(500);
  assert.ok(h.messages().some((m) => /^netlink change: applied/.test(m) || /^retry: applied/.test(m)));
  await watcher.stop();
});

test("ip monitor dying during stop is not restarted (SIGTERM reaches the whole process group)", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 3600));
  const { h, watcher } = await started(inner);
  assert.equal(h.monitorStarts, 1);
  h.onExit("ip monitor exited (SIGTERM)");
  await watcher.stop();
  await advance(2000);
  assert.equal(h.monitorStarts, 1);
});

test("ip monitor dying while running is restarted", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 3600));
  const { h, watcher } = await started(inner);
  h.onExit("ip monitor exited (1)");
  await advance(1100);
  assert.equal(h.monitorStarts, 2);
  await watcher.stop();
});

test("port warnings: once when the busiest destination passes the threshold, once when it is back under", async () => {
  const inner = counting((_call, prefix) => answer(prefix, 3600));
  const { h, watcher } = await started(inner, { portCheckMs: 1000 });
  h.flows = Array.from({ length: 200 }, (_, i) => ({
    protocol: "tcp",
    insideSource: i < 150 ? "192.168.1.10" : "192.168.1.11",
    destination: "8.8.8.8:443",
    outsidePort: 5136 + i,
  }));
  await advance(3500);
  h.flows = [];
  await advance(2500);
  const port = h.messages().filter((m) => /NAT ports/.test(m));
  assert.equal(port.length, 2, h.messages().join("\n"));
  assert.match(
    port[0] ?? "",
    /towards tcp 8\.8\.8\.8:443: 200 of 240 in use .* 192\.168\.1\.10 \(150\), 192\.168\.1\.11 \(50\)/,
  );
  assert.match(port[1] ?? "", /back under 80%/);
  await watcher.stop();
});

test("a provisioning notice (a DS-Lite-only answer passed over) is logged once while it holds", async () => {
  const notice =
    "hb46pp: v6 コネクト provisions DS-Lite (AFTR dslite.v6connect.net), which this CE did not claim";
  const inner = counting((_call, prefix) => ({ ...answer(prefix, 10), notice }));
  const { h, watcher } = await started(inner);
  await advance(10_500);
  await advance(10_500);
  assert.ok(inner.calls >= 3);
  const said = h.messages().filter((m) => m.includes("provisioning: hb46pp: v6 コネクト provisions DS-Lite"));
  assert.equal(said.length, 1, h.messages().join("\n"));
  await watcher.stop();
});
