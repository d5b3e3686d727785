import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { renderNftables } from "../../src/render/nftables.ts";
import { CLI, isOneLineError, runCli } from "../helpers/run-cli.ts";
import { stateOf } from "../helpers/observed-hosts.ts";
import { USER_PREFIX, planFor } from "../helpers/plans.ts";
import { dsLiteCasePlan } from "../unit/render/cases.ts";

function stateDir(applied: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-ports-"));
  if (applied) {
    const plan = planFor(USER_PREFIX);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({
        schemaVersion: 1,
        appliedAt: "2026-01-01T00:00:00.000Z",
        plan,
        nftScript: renderNftables(plan),
        replacedDefaults: [],
        enabledForwarding: false,
      }),
    );
  }
  return dir;
}

test("ports without MAP-E applied: one line, exit 5", () => {
  const r = runCli(["ports"], { env: { MAPECTL_STATE_DIR: stateDir(false) } });
  assert.equal(r.code, 5, r.stderr);
  assert.ok(isOneLineError(r.stderr), r.stderr);
  assert.match(r.stderr, /MAP-E is not applied on this host \(run mapectl up\)/);
  assert.equal(r.stdout, "");
});

test("ports on a DS-Lite router: method ds-lite, no port set (the AFTR translates), exit 0", () => {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-ports-"));
  const plan = dsLiteCasePlan();
  writeFileSync(join(dir, "state.json"), JSON.stringify(stateOf(plan)));
  // no conntrack on PATH: a DS-Lite router has no NAT of its own to read
  const env = { MAPECTL_STATE_DIR: dir, PATH: "/nonexistent" };
  const r = runCli(["ports", "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(doc.method, "ds-lite");
  assert.equal(doc.portSet, null);
  assert.equal(doc.nat, "aftr");
  assert.equal(doc.ipv4Address, "192.0.0.2");
  assert.equal(doc.tunnel, plan.tunnel.name);
  assert.equal("portCount" in doc, false, "no MAP-E numbers");
  const text = runCli(["ports", "--watch", "--count", "3"], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /DS-Lite: no NAT on this router; the AFTR gw\.transix\.jp translates/);
  assert.equal(text.stdout.match(/mapectl ports:/g)?.length, 1, "said once, not every 2 s");
});

test("ports without conntrack installed: names the package, exit 5", () => {
  const r = runCli(["ports", "--json"], { env: { MAPECTL_STATE_DIR: stateDir(true), PATH: "/nonexistent" } });
  assert.equal(r.code, 5, r.stderr);
  assert.ok(isOneLineError(r.stderr), r.stderr);
  assert.match(r.stderr, /conntrack is not installed.*install conntrack/);
});

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

test(
  "ports as an ordinary user: conntrack refuses, ports says it needs root, exit 5",
  {
    skip:
      (!asRoot || !existsSync("/usr/bin/setpriv") || !existsSync("/usr/sbin/conntrack")) &&
      "needs root, setpriv and conntrack",
  },
  (t) => {
    const asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    // a checkout under a private home is out of nobody's reach: nothing to learn then
    if (spawnSync("/usr/bin/setpriv", [...asNobody, "/usr/bin/test", "-r", CLI]).status !== 0) {
      t.skip(`${CLI} is not readable by nobody`);
      return;
    }
    const dir = stateDir(true);
    chmodSync(dir, 0o755);
    const r = spawnSync("/usr/bin/setpriv", [...asNobody, process.execPath, CLI, "ports"], {
      encoding: "utf8",
      env: { ...process.env, MAPECTL_STATE_DIR: dir },
      timeout: 30_000,
    });
    assert.equal(r.status, 5, r.stderr);
    assert.ok(isOneLineError(r.stderr), r.stderr);
    assert.match(r.stderr, /reading conntrack needs root/);
  },
);

test("ports --watch with a bad --count, or --count alone: usage errors", () => {
  for (const args of [
    ["ports", "--watch", "--count", "0"],
    ["ports", "--watch", "--count", "two"],
    ["ports", "--count", "3"],
    ["ports", "--bogus"],
  ]) {
    const r = runCli(args, { env: { MAPECTL_STATE_DIR: stateDir(true) } });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(isOneLineError(r.stderr), r.stderr);
  }
});

test("ports and serve are listed in the help", () => {
  const r = runCli(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\bports\b.*NAT port usage/);
  assert.match(r.stdout, /\bserve\b.*web page/);
});
