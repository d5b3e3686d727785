import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { CLI, isOneLineError, runCli } from "../helpers/run-cli.ts";
import { isRoot } from "../helpers/netns.ts";

test(
  "up and down refuse to run without root, naming the fix",
  { skip: !isRoot() && "needs root to drop to nobody" },
  () => {
    for (const [cmd, ...args] of [["up", "--wan", "eth0"], ["down"]]) {
      const r = spawnSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, cmd ?? "", ...args],
        {
          encoding: "utf8",
          env: { ...process.env, MAPECTL_STATE_DIR: "/nonexistent/state" },
        },
      );
      assert.equal(r.status, 5, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`mapectl ${cmd} changes the network configuration and must run as root`),
      );
      assert.ok(isOneLineError(r.stderr), r.stderr);
    }
  },
);

test("up rejects malformed flags as usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["up", "--wan", "eth1", "--mtu", "big", "--dry-run"], /--mtu big is not a whole number/],
    [
      ["up", "--wan", "eth1", "--forward", "sctp/5140=192.168.1.2", "--dry-run"],
      /--forward "sctp\/5140=192.168.1.2" is not tcp\|udp/,
    ],
    [["up", "--wan", "eth1", "--iid", "eui64", "--dry-run"], /--iid must be draft-03 or rfc7597/],
    [
      ["up", "--config", "/nonexistent/config.toml", "--dry-run"],
      /cannot read configuration \/nonexistent\/config\.toml: no such file/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = runCli(args);
    assert.ok(r.code === 2 || r.code === 4, `${args.join(" ")}: ${String(r.code)} ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.ok(isOneLineError(r.stderr), r.stderr);
  }
});
