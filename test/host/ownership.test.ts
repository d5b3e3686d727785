import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI, isOneLineError } from "../helpers/run-cli.ts";
import { isRoot, routerNetns, type Netns } from "../helpers/netns.ts";

// A router in a namespace with things of the user's that mapectl must leave as they are. This
// kernel has no ip6tnl, so every up here fails at the tunnel and must roll back exactly.
const BR = "2001:260:700:1::1:275";
let ns: Netns;
let dir: string;

before(() => {
  if (!isRoot()) return;
  ns = routerNetns("mapectl-own");
  dir = mkdtempSync(join(tmpdir(), "mapectl-own-"));
  ns.waitForDad();
});

after(() => {
  if (isRoot()) ns.destroy();
});

function stateDir(): string {
  return join(dir, "state");
}

function mapectl(args: string[]) {
  return ns.run([process.execPath, CLI, ...args], undefined, {
    MAPECTL_STATE_DIR: stateDir(),
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
  });
}

const UP = ["up", "--wan", "wan0", "--lan", "lan0", "--nodad"];

test(
  "the user's own route to the BR at mapectl's metric survives a failed up, and one that goes elsewhere is refused",
  { skip: !isRoot() && "needs root" },
  () => {
    ns.ok(["ip", "-6", "route", "add", `${BR}/128`, "via", "fe80::1", "dev", "wan0", "metric", "1"]);
    try {
      const beforeSnap = ns.snapshot();
      const r = mapectl(UP);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /rolled back \d+ changes?, the host is as before/);
      assert.equal(ns.snapshot(), beforeSnap);
      assert.match(ns.ok(["ip", "-6", "route", "show", `${BR}/128`]), /via fe80::1 dev wan0 metric 1 /);
    } finally {
      ns.ok(["ip", "-6", "route", "del", `${BR}/128`, "metric", "1"]);
    }
    ns.ok(["ip", "-6", "route", "add", `${BR}/128`, "via", "fe80::99", "dev", "wan0", "metric", "1"]);
    try {
      const beforeSnap = ns.snapshot();
      const r = mapectl(UP);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.ok(isOneLineError(r.stderr), r.stderr);
      assert.match(r.stderr, /already exists \(via fe80::99 dev wan0, proto boot\) and is not mapectl's/);
      assert.equal(ns.snapshot(), beforeSnap);
    } finally {
      ns.ok(["ip", "-6", "route", "del", `${BR}/128`, "metric", "1"]);
    }
  },
);

/** What a crashed or wiped mapectl leaves: its table and its proto 77 route, beside the user's. */
function leaveMapectlsThings(): void {
  ns.ok(
    ["nft", "-f", "-"],
    "table ip mapectl {\n chain srcnat {\n type nat hook postrouting priority srcnat; policy accept;\n }\n}\n",
  );
  ns.ok([
    "ip",
    "-6",
    "route",
    "add",
    `${BR}/128`,
    "via",
    "fe80::1",
    "dev",
    "wan0",
    "proto",
    "77",
    "metric",
    "1",
  ]);
  ns.ok(
    ["nft", "-f", "-"],
    "table inet userfw {\n chain input {\n type filter hook input priority 0; policy accept;\n }\n}\n",
  );
}

test(
  "a damaged state file stops up and down with one line; down --force-owned removes only mapectl's",
  { skip: !isRoot() && "needs root" },
  () => {
    leaveMapectlsThings();
    mkdirSync(stateDir(), { recursive: true });
    for (const damaged of [
      '{"schemaVersion": 1, "appliedAt": "2026-12-07T00:00:00Z"}',
      '{"schemaVersion": 1, "pl',
    ]) {
      writeFileSync(join(stateDir(), "state.json"), damaged);
      for (const args of [["down"], UP]) {
        const r = mapectl(args);
        assert.equal(r.code, 5, `${args[0] ?? ""}: ${r.stdout}${r.stderr}`);
        assert.ok(isOneLineError(r.stderr), r.stderr);
        assert.match(r.stderr, /state\.json is damaged \(.+\).*run mapectl down --force-owned/);
      }
    }
    const dry = mapectl(["down", "--force-owned", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would delete the nft table ip mapectl/);
    const r = mapectl(["down", "--force-owned"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /what is provably mapectl's/);
    assert.equal(ns.run(["nft", "list", "table", "ip", "mapectl"]).code, 1);
    assert.equal(ns.ok(["ip", "-6", "route", "show", "proto", "77"]).trim(), "");
    // the user's table, routes and addresses are still there
    assert.equal(ns.run(["nft", "list", "table", "inet", "userfw"]).code, 0);
    assert.match(ns.ok(["ip", "-6", "route", "show", "default"]), /via fe80::1 dev wan0/);
    assert.equal(existsSync(join(stateDir(), "state.json")), false);
    ns.ok(["nft", "delete", "table", "inet", "userfw"]);
  },
);

test(
  "without any state file, down names what is mapectl's and how to remove it, and removes nothing",
  { skip: !isRoot() && "needs root" },
  () => {
    leaveMapectlsThings();
    const beforeSnap = ns.snapshot();
    const r = mapectl(["down"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no record of what mapectl applied/);
    assert.match(r.stdout, /delete the nft table ip mapectl/);
    assert.match(r.stdout, /run mapectl down --force-owned/);
    assert.equal(ns.snapshot(), beforeSnap);
    assert.equal(mapectl(["down", "--force-owned"]).code, 0);
    ns.ok(["nft", "delete", "table", "inet", "userfw"]);
    const again = mapectl(["down"]);
    assert.match(again.stdout, /nothing to remove/);
  },
);

test(
  "up waits for the lock and then refuses, naming who holds it",
  { skip: !isRoot() && "needs root" },
  () => {
    mkdirSync(stateDir(), { recursive: true });
    // this test process stands for a daemon in the middle of a converge
    writeFileSync(
      join(stateDir(), "lock"),
      JSON.stringify({ pid: process.pid, command: "watch", startTime: null }),
    );
    try {
      const beforeSnap = ns.snapshot();
      const started = Date.now();
      const r = mapectl(UP);
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.ok(isOneLineError(r.stderr), r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `another mapectl is changing this host: the daemon \\(mapectl watch\\), pid ${String(process.pid)}, holds .*lock`,
        ),
      );
      assert.ok(Date.now() - started >= 2500, "up gives a running converge a moment first");
      assert.equal(ns.snapshot(), beforeSnap);
      const down = mapectl(["down"]);
      assert.equal(down.code, 5, down.stdout + down.stderr);
    } finally {
      writeFileSync(join(stateDir(), "lock"), "");
    }
  },
);
