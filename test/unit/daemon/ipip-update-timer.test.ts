import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import type { ConvergeResult } from "../../../src/daemon/converge.ts";
import { nextUpdateAt } from "../../../src/daemon/ipip-update-timer.ts";
import { cachingResolver } from "../../../src/daemon/parameter-sources.ts";
import { DEFAULT_WATCH, Watcher, type WatchDeps } from "../../../src/daemon/watch.ts";
import type { DaemonEvent } from "../../../src/host/event-log.ts";
import { registerIpip } from "../../../src/host/ipip-registration.ts";
import type { IpipPlan } from "../../../src/plan/ipip-plan.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../../src/plan/settings.ts";
import type { UpdateVerdict } from "../../../src/provision/ipip-update.ts";
import { shippedRuleTable } from "../../../src/rules/shipped.ts";
import { planFor } from "../../helpers/plans.ts";
import { tempDir } from "../../helpers/temp-dir.ts";
import { ipipCasePlan } from "../render/cases.ts";

const PREFIX = "2001:db8:1200:3400::/56";
const PASSWORD = "s3cret-pass";
const INTERVAL_S = 120;
const SETTINGS: Settings = {
  ...DEFAULT_SETTINGS,
  wan: "eth1",
  method: "ipip",
  ipip: { ...DEFAULT_SETTINGS.ipip, user: "user01", password: PASSWORD },
};

function ipipPlan(): IpipPlan {
  const plan = ipipCasePlan();
  if (plan.update === null) throw new Error("the case has an update URL");
  return { ...plan, update: { ...plan.update, intervalSeconds: INTERVAL_S } };
}

/**
 * A daemon whose converge is the real registerIpip (its record on disk, its "still registered"
 * rule, its refusal) around a scripted update server: every call's time is kept, and the verdicts
 * are given in turn (the last one repeats). Nothing else wakes it: no netlink, a daily periodic check.
 */
function harness(verdicts: readonly UpdateVerdict[]) {
  const events: DaemonEvent[] = [];
  const calls: number[] = [];
  const plan = ipipPlan();
  const deps: Partial<WatchDeps> = {
    converge: async (settings): Promise<ConvergeResult> => {
      const registration = await registerIpip(plan, PREFIX, settings, {
        dryRun: false,
        call: (call) => {
          assert.equal(call.account.password, PASSWORD, "the call has the account");
          calls.push(Date.now());
          return Promise.resolve(verdicts[Math.min(calls.length, verdicts.length) - 1] as UpdateVerdict);
        },
      });
      return {
        plan,
        source: "configuration",
        prefixFrom: `${PREFIX} from the delegated prefix`,
        actions: [],
        changed: false,
        flushed: null,
        stale: null,
        notice: registration.warning,
        update: registration.record,
        vyosDrift: [],
      };
    },
    withdraw: () => Promise.resolve([]),
    readFlows: () => Promise.resolve(null),
    monitor: () => ({ start: () => undefined, stop: () => undefined }),
    emit: (event) => {
      events.push(event);
    },
    makeResolver: () => cachingResolver(() => Promise.reject(new Error("IPIP from the sheet asks nothing"))),
  };
  const day = 24 * 3600_000;
  const watcher = new Watcher(
    () => ({ settings: SETTINGS, table: shippedRuleTable() }),
    { run: () => Promise.reject(new Error("no commands in this test")) },
    { ...DEFAULT_WATCH, periodicMs: day, portCheckMs: day },
    deps,
  );
  return { watcher, calls, messages: () => events.map((e) => `${e.level}: ${e.message}`) };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

async function advance(ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(Math.min(step, ms - t));
    await settle();
  }
}

const T0 = 1_800_000_000_000;

beforeEach(() => {
  process.env.MAPECTL_STATE_DIR = tempDir("ipip-update-timer");
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
});
afterEach(() => {
  mock.timers.reset();
  delete process.env.MAPECTL_STATE_DIR;
});

test("the update URL is called again when the provider's interval has passed, with nothing else waking the daemon", async () => {
  const { watcher, calls, messages } = harness([
    { kind: "registered", detail: "good 2001:db8:1200:3400::/56" },
  ]);
  watcher.start();
  await advance(1000);
  assert.deepEqual(calls, [T0], "the first converge registers the CE");
  await advance((INTERVAL_S - 2) * 1000);
  assert.equal(calls.length, 1, "not before the interval");
  await advance(3000);
  assert.equal(calls.length, 2, messages().join("\n"));
  const second = calls[1] ?? 0;
  assert.ok(second >= T0 + INTERVAL_S * 1000 && second < T0 + (INTERVAL_S + 1) * 1000, `${second - T0} ms`);
  await advance(INTERVAL_S * 1000);
  assert.equal(calls.length, 3, "and every interval after it");
  const said = messages().filter((m) => m.includes("IPIP update URL: registered CE"));
  assert.equal(said.length, 3, messages().join("\n"));
  assert.match(
    said[0] ?? "",
    /^info: start: IPIP update URL: registered CE [0-9a-f:]+ for 2001:db8:1200:3400::\/56; next call in 120 s$/,
  );
  assert.match(said[1] ?? "", /^info: IPIP update due: IPIP update URL: registered CE /, "the timer's round");
  await watcher.stop();
});

test("a failed call is logged and tried again a minute later while the provider still has the CE", async () => {
  const { watcher, calls, messages } = harness([
    { kind: "registered", detail: "good" },
    { kind: "failed", detail: "no answer from the update server in 10 s" },
    { kind: "registered", detail: "good" },
  ]);
  watcher.start();
  await advance(INTERVAL_S * 1000 + 1000);
  assert.equal(calls.length, 2);
  assert.ok(
    messages().some((m) =>
      /^warning: IPIP update due: IPIP update URL: failed for CE .*no answer from the update server in 10 s; next call in 60 s$/.test(
        m,
      ),
    ),
    messages().join("\n"),
  );
  await advance(55_000);
  assert.equal(calls.length, 2, "not before the minute");
  await advance(5000);
  assert.equal(calls.length, 3, messages().join("\n"));
  // back to the provider's interval after the retry succeeded
  await advance((INTERVAL_S - 5) * 1000);
  assert.equal(calls.length, 3);
  await watcher.stop();
});

test("a refused account is logged as an error and tried again with back-off; the password is in no log line", async () => {
  const { watcher, calls, messages } = harness([
    { kind: "registered", detail: "good" },
    { kind: "refused", detail: "HTTP 401: badauth" },
  ]);
  watcher.start();
  await advance(INTERVAL_S * 1000 + 1000);
  assert.equal(calls.length, 2);
  assert.ok(
    messages().some((m) =>
      /^error: IPIP update due: not applied .*refused the account \(HTTP 401: badauth\).*retrying in \d+ s$/.test(
        m,
      ),
    ),
    messages().join("\n"),
  );
  await advance(5000);
  assert.ok(calls.slice(2).length > 0, "retried");
  await watcher.stop();
  assert.ok(messages().every((m) => !m.includes(PASSWORD)));
});

test("nextUpdateAt: the interval after a registration, a minute after a failure, nothing without IPIP's update URL", () => {
  const plan = ipipPlan();
  const record = { at: new Date(T0).toISOString(), detail: "", ceAddress: plan.ceAddress, prefix: PREFIX };
  assert.equal(nextUpdateAt({ plan, update: { ...record, kind: "registered" } }), T0 + INTERVAL_S * 1000);
  assert.equal(nextUpdateAt({ plan, update: { ...record, kind: "failed" } }), T0 + 60_000);
  assert.equal(nextUpdateAt({ plan, update: null }), null, "converge makes the first call");
  assert.equal(
    nextUpdateAt({ plan: { ...plan, update: null }, update: { ...record, kind: "registered" } }),
    null,
  );
  assert.equal(
    nextUpdateAt({ plan: planFor("2404:7a82:4d02:4100::/56"), update: { ...record, kind: "registered" } }),
    null,
  );
});
