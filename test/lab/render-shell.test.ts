import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CE, INET, NS } from "../../lab/addresses.ts";
import { connectMany } from "../../lab/clients.ts";
import { repoRoot } from "../../lab/paths.ts";
import { pingFromLan } from "../../lab/scenarios/probes.ts";
import { useLab } from "../helpers/lab.ts";

// A CE built only from `mapectl render --target shell` (its iproute2 commands and nft table): no
// mapectl runs on the CE for it. Then the single executable, which needs no Node, runs in the CE's
// namespace.
const bundle = join(repoRoot(), "dist", "mapectl.cjs");
const sea = join(repoRoot(), "dist", `mapectl-linux-${process.arch}`);
const { skip, lab: booted } = useLab({ needsBundle: true });

test(
  "a CE configured only from the rendered shell script and nft table carries IPv4",
  { skip, timeout: 600_000 },
  async () => {
    const l = booted();
    await l.waitForPrefix(l.prefix);
    const route = await l.run(NS.ce, ["ip", "-6", "route", "show", "default", "dev", CE.wan]);
    const gateway = /via (\S+)/.exec(route)?.[1];
    assert.ok(gateway !== undefined, `no IPv6 default router on ${CE.wan}: ${route}`);
    // Rendered on the host, away from the router, as a user would on a laptop.
    const render = spawnSync(
      process.execPath,
      [
        bundle,
        "render",
        "--target",
        "shell",
        "--prefix",
        l.prefix,
        "--wan",
        CE.wan,
        "--lan",
        CE.lan,
        "--gateway",
        gateway,
      ],
      { encoding: "utf8" },
    );
    assert.equal(render.status, 0, render.stderr);
    const up = await l.exec(NS.ce, ["sh", "-s"], { input: render.stdout, timeoutMs: 60_000 });
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    const again = await l.exec(NS.ce, ["sh", "-s"], { input: render.stdout, timeoutMs: 60_000 });
    assert.equal(again.code, 0, `running it twice is harmless: ${again.stderr}`);
    const ping = await pingFromLan(l);
    assert.ok(ping.ok, ping.detail);
    const tcp = await connectMany(l, 4, INET.hosts[0], INET.manyPort, 15);
    assert.equal(tcp.ok, 4);
  },
);

test(
  "the single executable runs calc, render and doctor in the CE's namespace",
  { skip: skip || (!existsSync(sea) && "no single executable: npm run build:sea"), timeout: 300_000 },
  async () => {
    const l = booted();
    const calc = await l.exec(NS.ce, [sea, "calc", l.prefix, "--json"]);
    assert.equal(calc.code, 0, calc.stderr);
    assert.equal((JSON.parse(calc.stdout) as { schemaVersion: number }).schemaVersion, 1);
    // On the router: the prefix and the gateway are read from the WAN, as `up` does.
    const render = await l.exec(NS.ce, [
      sea,
      "render",
      "--target",
      "shell",
      "--wan",
      CE.wan,
      "--lan",
      CE.lan,
    ]);
    assert.equal(render.code, 0, render.stderr);
    assert.doesNotMatch(render.stdout, /fe80::GATEWAY/);
    assert.match(render.stdout, /^ip -6 route replace \S+\/128 via fe80::\S+ dev wan0 proto 77 metric 1$/m);
    const doctor = await l.exec(NS.ce, [sea, "doctor", "--wan", CE.wan, "--json"], { timeoutMs: 120_000 });
    assert.ok(
      doctor.code === 0 || doctor.code === 6,
      `doctor exits 0 or 6, not ${doctor.code}: ${doctor.stderr}`,
    );
    assert.equal((JSON.parse(doctor.stdout) as { schemaVersion: number }).schemaVersion, 1);
  },
);
