import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, isOneLineError, runCli } from "../helpers/run-cli.ts";
import { isRoot } from "../helpers/netns.ts";

const PREFIX = "2404:7a82:4d02:4100::/56";
const dir = mkdtempSync(join(tmpdir(), "mapectl-exit-"));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs the CLI with its stdout a real pipe whose reading end is closed before the CLI writes. */
function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stderr });
    });
  });
}

test("a closed stdout (| head -1) ends quietly: no EPIPE trace, exit 0", async () => {
  for (const args of [
    ["calc", PREFIX],
    ["calc", PREFIX, "--json"],
    ["render", "--target", "shell", "--prefix", PREFIX, "--wan", "wan0", "--gateway", "fe80::1"],
  ]) {
    const r = await withClosedStdout(args);
    assert.equal(r.stderr, "", `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.code, 0, args.join(" "));
  }
});

test("a bad value in the configuration file exits 4 naming the file and the key", () => {
  const config = file("mtu.toml", '[tunnel]\nmtu = "big"\n');
  for (const args of [
    ["render", "--config", config, "--target", "shell", "--prefix", PREFIX, "--wan", "wan0"],
    ["up", "--dry-run", "--config", config],
  ]) {
    const r = runCli(args);
    assert.equal(r.code, 4, `${args[0] ?? ""}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${config}: tunnel\\.mtu`));
    assert.ok(isOneLineError(r.stderr), r.stderr);
  }
});

test("a bad interface name gets the same exit code and line from render and from up", () => {
  const config = file("wan.toml", 'wan = "bad name!"\n');
  const cases: [string[], number, RegExp][] = [
    [["--wan", "bad name!"], 2, /--wan "bad name!" is not a valid interface name/],
    [["--wan", "wan0", "--lan", "lan;reboot"], 2, /--lan "lan;reboot" is not a valid interface name/],
    [["--config", config], 4, /wan\.toml: wan "bad name!" is not a valid interface name/],
  ];
  for (const [flags, code, message] of cases) {
    const render = runCli(["render", "--target", "shell", "--prefix", PREFIX, ...flags]);
    const up = runCli(["up", "--dry-run", "--prefix", PREFIX, ...flags]);
    for (const [name, r] of [
      ["render", render],
      ["up", up],
    ] as const) {
      assert.equal(r.code, code, `${name} ${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(isOneLineError(r.stderr), r.stderr);
    }
    assert.equal(render.stderr, up.stderr);
  }
});

test(
  "up --gateway zz fails before changing anything: no command run, no lock or state written",
  { skip: !isRoot() && "up checks for root first; as root it must still refuse before any change" },
  () => {
    const state = join(dir, "state");
    mkdirSync(state);
    // With no PATH, any `ip` or `nft` the command tried would fail with a different message.
    const r = runCli(["up", "--wan", "wan0", "--prefix", PREFIX, "--gateway", "zz"], {
      env: { MAPECTL_STATE_DIR: state, PATH: "/nonexistent" },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--gateway: "zz" is not an IPv6 address/);
    assert.ok(isOneLineError(r.stderr), r.stderr);
    assert.deepEqual(readdirSync(state), []);
  },
);

test("configuration and rules files over 1 MiB, and devices or pipes, are refused in one line", () => {
  const big = file("big.toml", `# ${"x".repeat(1024 * 1024)}\n`);
  const cases: [string[], RegExp][] = [
    [
      ["render", "--config", big, "--target", "shell", "--prefix", PREFIX, "--wan", "wan0"],
      /big\.toml: it is \d+ bytes, more than the 1048576/,
    ],
    [["calc", PREFIX, "--rules-file", big], /rules file .*big\.toml: it is \d+ bytes/],
    [["calc", PREFIX, "--rules-file", "/dev/zero"], /\/dev\/zero: not a regular file/],
    [["up", "--dry-run", "--config", "/dev/zero"], /\/dev\/zero: not a regular file/],
  ];
  for (const [args, message] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 4, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.ok(isOneLineError(r.stderr), r.stderr);
  }
});

test("--forward rejects trailing garbage after the inside port", () => {
  for (const spec of ["tcp/5140=192.168.1.10:22:33", "tcp/5140=192.168.1.10:22x", "udp/53=10.0.0.1:"]) {
    const r = runCli(["render", "--target", "shell", "--prefix", PREFIX, "--wan", "wan0", "--forward", spec]);
    assert.equal(r.code, 2, `${spec}: ${r.stderr}`);
    assert.match(r.stderr, /--forward/);
    assert.ok(isOneLineError(r.stderr), r.stderr);
  }
});
