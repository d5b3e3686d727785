import assert from "node:assert/strict";
import { test } from "node:test";
import { findScenario, runScenario } from "../../lab/scenarios/index.ts";
import { useLab } from "../helpers/lab.ts";

// One VM for the file: the IPIP line's provider (BR and update server) in the ISP network, HB46PP
// answering ipip for the delegated prefix, mapectl on the CE.
const { skip, lab: booted } = useLab();

test(
  "ipip: a wrong password keeps the path down and doctor says why; the right one carries LAN and router IPv4 as the fixed address",
  { skip },
  async () => {
    const scenario = findScenario("ipip");
    assert.ok(scenario !== undefined);
    const report = await runScenario(booted(), scenario);
    const failed = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
    assert.deepEqual(failed, [], failed.join("\n"));
    assert.equal(report.passed, true);
    const names = report.checks.map((c) => c.name);
    for (const expected of [
      "wrong password: up exits 4 saying the update server refused it",
      "doctor's first finding is ipip.update-refused",
      "ping 8.8.8.8 from the LAN",
      "the router's own ping",
      "a BR without the registration drops the CE's packets",
    ]) {
      assert.ok(names.includes(expected), `check "${expected}" ran`);
    }
    assert.ok((report.counters.ipip_decap?.packets ?? 0) > 0, "the IPIP BR decapsulated the CE's packets");
    assert.ok(
      (report.counters.ipip_unregistered?.packets ?? 0) > 0,
      "and dropped them once it forgot the CE",
    );
  },
);
