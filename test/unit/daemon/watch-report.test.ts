import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConvergeResult } from "../../../src/daemon/converge.ts";
import { convergedLine, type RoundFacts } from "../../../src/daemon/watch-report.ts";
import type { Plan } from "../../../src/plan/method.ts";
import { dsLiteCasePlan } from "../render/cases.ts";

function applied(plan: Plan): ConvergeResult {
  const tunnel = { id: "tunnel", summary: "tunnel", apply: { argv: ["true"] }, undo: null };
  return {
    plan,
    source: "tables",
    prefixFrom: "2404:8e00:12:3400::/56 from the delegated prefix",
    actions: [tunnel],
    changed: true,
    flushed: null,
    stale: null,
    vyosDrift: [],
  };
}

function facts(before: Plan | null): RoundFacts {
  return { before, tookMs: 120, asked: false, recovered: false, next: null };
}

test("the AFTR's name resolving to another address: the daemon's line says the AFTR moved, from where to where", () => {
  const line = convergedLine(
    "periodic check",
    applied(dsLiteCasePlan("2404:8e00::feed:200")),
    facts(dsLiteCasePlan("2404:8e00::feed:100")),
  );
  assert.equal(
    line,
    "periodic check: applied tunnel in 0.1 s (AFTR moved: 2404:8e00::feed:100 → 2404:8e00::feed:200); parameters from tables; B4 192.0.0.2 via AFTR gw.transix.jp 2404:8e00::feed:200",
  );
});

test("a DS-Lite round whose AFTR stayed says nothing moved; the first round has nothing to compare", () => {
  const plan = dsLiteCasePlan();
  for (const before of [dsLiteCasePlan(), null]) {
    const line = convergedLine("start", applied(plan), facts(before)) ?? "";
    assert.doesNotMatch(line, /moved|changed/, line);
    assert.match(line, /via AFTR gw\.transix\.jp 2404:8e00::feed:100$/);
  }
});
