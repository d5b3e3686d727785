import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../lab/paths.ts";
import { labSkip } from "../../lab/preflight.ts";

// The bundle, as users run it: `npm run build` (npm test does) makes dist/mapectl.cjs.
const bundle = join(repoRoot(), "dist", "mapectl.cjs");
const skip = labSkip({ needsBundle: true });

function labQemuPids(): string[] {
  const out = spawnSync("pgrep", ["-f", "mapectl-lab/runs/vm-"], { encoding: "utf8" }).stdout;
  return out.split("\n").filter((line) => line.trim() !== "");
}

function mapectl(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [bundle, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", rejectRun);
    child.on("close", (code) => {
      resolveRun({ code: code ?? 128, stdout, stderr });
    });
  });
}

test(
  "mapectl lab list --json names demo, reference, wrong-br, vyos, router, ds-lite and ipip",
  { skip: existsSync(bundle) ? false : "no bundle" },
  async () => {
    const r = await mapectl(["lab", "list", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { schemaVersion: number; scenarios: { name: string }[] };
    assert.equal(doc.schemaVersion, 1);
    assert.deepEqual(
      doc.scenarios.map((s) => s.name),
      ["demo", "reference", "wrong-br", "vyos", "router", "ds-lite", "ipip"],
    );
  },
);

test(
  "mapectl lab run without qemu on PATH says what to install and exits 5",
  { skip: existsSync(bundle) ? false : "no bundle" },
  async () => {
    const r = await mapectl(["lab", "run", "reference"], { ...process.env, PATH: "/nonexistent" });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /^mapectl: lab: .*qemu-system-x86_64.* apt-get install qemu-system-x86/m);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  },
);

test(
  "mapectl lab run with a bad prefix exits 2 before booting anything",
  { skip: existsSync(bundle) ? false : "no bundle" },
  async () => {
    const r = await mapectl(["lab", "run", "reference", "--prefix", "2404:7a82:zz::/56"]);
    assert.equal(r.code, 2, r.stderr);
  },
);

test(
  "mapectl lab run wrong-br --json boots the lab and reports the JPNE BR's unknown-CE drops",
  { skip },
  async () => {
    const before = labQemuPids();
    const r = await mapectl(["lab", "run", "wrong-br", "--json"]);
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}\n${r.stdout}`);
    const report = JSON.parse(r.stdout) as {
      schemaVersion: number;
      scenario: string;
      passed: boolean;
      checks: { name: string; passed: boolean; detail: string }[];
      counters: Record<string, { packets: number }>;
    };
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.scenario, "wrong-br");
    assert.equal(report.passed, true, JSON.stringify(report.checks, null, 2));
    assert.ok(report.checks.length >= 5);
    assert.ok((report.counters.jpne_unknown_ce?.packets ?? 0) >= 3);
    // Nothing of its VM is left behind (other labs on this machine may be running).
    const left = labQemuPids().filter((pid) => !before.includes(pid));
    assert.deepEqual(left, [], "no qemu of this run left running");
  },
);
