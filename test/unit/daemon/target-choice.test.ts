import assert from "node:assert/strict";
import { test } from "node:test";
import type { CommandRunner } from "../../../src/host/command-runner.ts";
import { chooseTarget, holdLoadForCheck, noteFoldRefused } from "../../../src/daemon/target-choice.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { isMapePlan } from "../../../src/plan/method.ts";
import { DEFAULT_SETTINGS } from "../../../src/plan/settings.ts";
import { resolveParameters } from "../../../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { freshHost } from "../../helpers/observed-hosts.ts";
import { USER_PREFIX } from "../../helpers/plans.ts";

const prefix = parseIpv6Prefix(USER_PREFIX);
const inputs = {
  context: { wan: "wan0", prefix, widen: false, prefixFrom: "test", gateway: "fe80::1", netdevEgress: true },
  host: freshHost(),
  resolution: {
    resolved: resolveParameters({ prefix, table: shippedRuleTable(), notMape: shippedNotMape() }),
    ttlSeconds: null,
  },
  previous: null,
  reconcile: { replaceDefault: false, nodad: false },
};
const settings = { ...DEFAULT_SETTINGS, wan: "wan0", lan: ["lan0"] };

/** A runner whose `nft -c` answers only when the test says, with the fold's maps refused or not. */
function slowNft(refuseFold: boolean) {
  const calls: string[] = [];
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const runner: CommandRunner = {
    run: async (argv, options) => {
      calls.push(argv.join(" "));
      if (argv[1] === "-c") {
        await answered;
        const fold = /fold/i.test(options?.input ?? "");
        return {
          code: refuseFold && fold ? 1 : 0,
          stdout: "",
          stderr: refuseFold && fold ? "Error: no\n" : "",
        };
      }
      return { code: 0, stdout: "", stderr: "" };
    },
  };
  return {
    runner,
    calls,
    answer: () => {
      answer();
    },
  };
}

test("auto on a fold: the apply may start while nft -c still runs; the load waits for it, and a refusal fails the load", async () => {
  const nft = slowNft(true);
  // returns with the check unanswered: the ip changes need not wait for it
  const chosen = await Promise.race([
    chooseTarget(settings, nft.runner, inputs, true),
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error("chooseTarget waited for nft -c"));
      }, 5000).unref(),
    ),
  ]);
  assert.ok(isMapePlan(chosen.plan) && chosen.plan.allocator === "fold");
  assert.notEqual(chosen.fallback, null);
  assert.notEqual(chosen.check, null);
  const held = holdLoadForCheck(nft.runner, chosen.check ?? Promise.resolve(null), chosen.nftScript);
  await held.run(["ip", "link", "show"]);
  const load = held.run(["nft", "-f", "-"], { input: chosen.nftScript });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(!nft.calls.includes("nft -f -"), "the table is not loaded before its check answered");
  nft.answer();
  await assert.rejects(load, /nft refused the generated ruleset/);
  assert.ok(!nft.calls.includes("nft -f -"));
  // the fallback: round robin for the host as it is, its own table checked
  const fallback = await chosen.fallback?.(freshHost());
  assert.ok(fallback !== undefined && isMapePlan(fallback.plan) && fallback.plan.allocator === "round-robin");
  assert.equal(await fallback.check, null);
});

/** chooseTarget with nft -c answering at once (refusing the fold or not): the allocator and fallback. */
async function choice(refuseFold: boolean, optimistic: boolean) {
  const nft = slowNft(refuseFold);
  const pending = chooseTarget(settings, nft.runner, inputs, optimistic);
  nft.answer();
  const chosen = await pending;
  return { allocator: isMapePlan(chosen.plan) ? chosen.plan.allocator : null, fallback: chosen.fallback };
}

test("round robin applied before under auto (a refused fold): a new process checks first instead of applying and rolling back", async () => {
  const nft = slowNft(true);
  const pending = chooseTarget(settings, nft.runner, inputs, false);
  nft.answer();
  const before = await pending;
  assert.ok(isMapePlan(before.plan) && before.plan.allocator === "round-robin");
  const previous = {
    schemaVersion: 1 as const,
    appliedAt: "2026-12-07T00:00:00Z",
    plan: before.plan,
    nftScript: before.nftScript,
    replacedDefaults: [],
    enabledForwarding: false,
  };
  const again = slowNft(true);
  const next = chooseTarget(settings, again.runner, { ...inputs, previous }, true);
  again.answer();
  const chosen = await next;
  assert.ok(isMapePlan(chosen.plan) && chosen.plan.allocator === "round-robin");
  assert.equal(chosen.fallback, null);
});

test("a dry run, and a process that has seen the fold refused, wait for the check and choose round robin first", async () => {
  assert.deepEqual(await choice(true, false), { allocator: "round-robin", fallback: null });
  noteFoldRefused();
  // the fold is checked first and taken, as before any refusal, but without a fallback
  assert.deepEqual(await choice(false, true), { allocator: "fold", fallback: null });
  assert.deepEqual(await choice(true, true), { allocator: "round-robin", fallback: null });
});
