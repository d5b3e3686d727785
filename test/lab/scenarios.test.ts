import assert from "node:assert/strict";
import { test } from "node:test";
import { findScenario, runScenario } from "../../lab/scenarios/index.ts";
import type { ScenarioReport } from "../../lab/scenarios/scenario.ts";
import { useLab } from "../helpers/lab.ts";

// One VM for the whole file: booting costs ~10 s under TCG, a scenario a few seconds.
const { skip, lab: booted } = useLab();

async function run(name: string): Promise<ScenarioReport> {
  const scenario = findScenario(name);
  assert.ok(scenario !== undefined, `scenario ${name} exists`);
  return runScenario(booted(), scenario);
}

function assertAllPassed(report: ScenarioReport): void {
  const failed = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
  assert.deepEqual(failed, [], `${report.scenario} failed:\n${failed.join("\n")}`);
  assert.equal(report.passed, true);
}

test(
  "reference: a hand-written CE carries ping, TCP, UDP and DNS, all from PSID 65's ports",
  { skip },
  async () => {
    const report = await run("reference");
    assertAllPassed(report);
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.prefix, "2404:7a82:4d02:4100::/56");
    assert.ok(
      (report.counters.biglobe_east_decap?.packets ?? 0) > 0,
      "BIGLOBE east decapsulated the CE's packets",
    );
    assert.ok((report.counters.biglobe_east_encap?.packets ?? 0) > 0, "BIGLOBE east encapsulated replies");
    const ports = report.checks.find((c) => c.name.includes("PSID 65"));
    assert.ok(ports?.passed === true, "the port-set check ran for PSID 65");
  },
);

test("wrong-br: pointed at JPNE's BR, packets leave and JPNE counts an unknown CE", { skip }, async () => {
  const report = await run("wrong-br");
  assertAllPassed(report);
  assert.ok((report.counters.jpne_unknown_ce?.packets ?? 0) >= 3, "jpne_unknown_ce counted the CE's packets");
  assert.equal(report.counters.biglobe_east_decap, undefined, "the right BR never saw the CE");
});

test("the same lab runs the reference again after wrong-br (scenarios reset the CE)", { skip }, async () => {
  assertAllPassed(await run("reference"));
});
