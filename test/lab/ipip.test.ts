import assert from "node:assert/strict";
import { test } from "node:test";
import { IPIP_LAB, NS } from "../../lab/addresses.ts";
import { ipipHb46ppAnswer, ipipUpdateLog } from "../../lab/ipip-provider.ts";
import { findScenario, runScenario } from "../../lab/scenarios/index.ts";
import { IPIP_CONFIG, ipipCeConfig, ipipProviderUp } from "../../lab/scenarios/ipip.ts";
import { pingFromLan } from "../../lab/scenarios/probes.ts";
import { startWatch } from "../../lab/traffic.ts";
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

test(
  "the daemon calls the update URL again when the provider's interval has passed, with nothing else to converge for",
  { skip },
  async () => {
    const l = booted();
    await ipipProviderUp(l);
    // the shortest interval mapectl accepts; the periodic check an hour away, the HB46PP TTL a day:
    // only the update timer can make the daemon converge again within the next two minutes
    await l.guest.writeFile(IPIP_CONFIG, ipipCeConfig(IPIP_LAB.password, 60), 0o600);
    await l.isp.setProvisioning(ipipHb46ppAnswer(l.prefix));
    const registered = async () =>
      (await ipipUpdateLog(l)).filter((e) => e.registered === IPIP_LAB.user && e.prefix === l.prefix);
    const before = (await registered()).length;
    const watch = await startWatch(l, ["--config", IPIP_CONFIG, "--periodic", "3600"]);
    try {
      await watch.waitForLine(/IPIP update URL: registered CE .*; next call in \d+ s$/, 180_000);
      const from = (await watch.log()).length;
      // the timer's round, and the call it made
      await watch.waitForLine(
        /IPIP update due: IPIP update URL: registered CE .*; next call in \d+ s$/,
        180_000,
        from,
      );
      const calls = (await registered()).slice(before);
      assert.ok(calls.length >= 2, JSON.stringify(calls));
      const apart = Number(calls[1]?.at) - Number(calls[0]?.at);
      assert.ok(apart >= 59_000 && apart < 120_000, `the second call came ${apart} ms after the first`);
      const log = (await watch.log()).join("\n");
      assert.ok(!log.includes(IPIP_LAB.password), "the password is in no log line");
      const ping = await pingFromLan(l);
      assert.ok(ping.ok, `IPv4 through the fixed address: ${ping.detail}`);
    } finally {
      // cleanup; a slow agent here must not hide what the test found above
      await watch.stop().catch((err: unknown) => {
        console.error(`stopping the daemon: ${(err as Error).message}`);
      });
      await l.mapectl(NS.ce, ["down"], { timeoutMs: 60_000 });
      await l.isp.setProvisioning(null);
    }
  },
);
