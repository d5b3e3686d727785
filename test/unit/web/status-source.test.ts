import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { statusSource } from "../../../src/cli/actions/serve.ts";
import type { CommandRunner } from "../../../src/host/command-runner.ts";

// An empty host: no state file (so readStatus runs nothing), every `ip -j` answers [], nft has nothing.
process.env.MAPECTL_STATE_DIR = mkdtempSync(join(tmpdir(), "mapectl-source-"));
process.env.MAPECTL_RUN_DIR = mkdtempSync(join(tmpdir(), "mapectl-source-run-"));

function emptyHost(): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: (argv) => {
      calls.push(argv.join(" "));
      return Promise.resolve(
        argv[0] === "ip" ? { code: 0, stdout: "[]", stderr: "" } : { code: 1, stdout: "", stderr: "no" },
      );
    },
  };
}

test("doctor runs in the background: the first answer has none, a later one has its verdicts", async () => {
  let now = 1_000_000;
  const runner = emptyHost();
  const read = statusSource(runner, () => now);
  const first = await read();
  assert.equal(first.schemaVersion, 1);
  assert.equal(first.status?.applied, false);
  assert.equal(first.error, null);
  assert.equal(first.doctor, null);
  await new Promise((resolve) => setTimeout(resolve, 200));
  now += 2_000;
  const second = await read();
  assert.ok(second.doctor !== null);
  assert.equal(second.doctor.error, null);
  assert.equal(second.doctor.ok, false);
  assert.ok(second.doctor.findings.some((f) => f.id === "tunnel-missing" && f.verdict === "fail"));
});

test("requests within a second share one read; doctor runs again only after 15 s", async () => {
  let now = 5_000_000;
  const runner = emptyHost();
  const read = statusSource(runner, () => now);
  await read();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const doctorRuns = () => runner.calls.filter((c) => c === "nft -j list ruleset").length;
  assert.equal(doctorRuns(), 1);
  const a = await read();
  now += 500;
  const b = await read();
  assert.equal(a.at, b.at, "the same read");
  now += 600;
  await new Promise((resolve) => setTimeout(resolve, 5));
  const c = await read();
  assert.notEqual(c.at, a.at, "a fresh read after a second");
  now += 10_000;
  await read();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(doctorRuns(), 1);
  now += 6_000;
  await read();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(doctorRuns(), 2);
});
