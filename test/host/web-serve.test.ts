import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isRoot, Netns } from "../helpers/netns.ts";
import { CLI, isOneLineError } from "../helpers/run-cli.ts";
import { fabricateState, startCli, type Fabricated } from "./web-fixture.ts";

// serve in a namespace of its own, so port 8146 is free and `ss` sees only mapectl's sockets.
let ns: Netns;
let dir: string;
let state: Fabricated;

before(() => {
  if (!isRoot()) return;
  ns = new Netns("mapectl-serve");
  dir = mkdtempSync(join(tmpdir(), "mapectl-serve-"));
  state = fabricateState(dir);
});

after(() => {
  if (!isRoot()) return;
  ns.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** Listening TCP sockets in the namespace as "address:port". */
function listeners(): string[] {
  return ns
    .ok(["ss", "-Hltn"])
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s+/)[3] ?? "");
}

test(
  "serve listens on 127.0.0.1:8146 by default, nowhere else, and ends cleanly",
  { skip: !isRoot() && "needs root" },
  async () => {
    const serve = await startCli(ns, ["serve"], state.env, /^mapectl serve: (\S+) /m);
    try {
      assert.equal(serve.match[1], "http://127.0.0.1:8146/");
      assert.deepEqual(listeners(), ["127.0.0.1:8146"]);
      assert.equal(serve.stderr(), "", "no warning on loopback as root");
      // a second one on the same port: one line, the host is not ready
      const second = ns.run([process.execPath, CLI, "serve"], undefined, state.env);
      assert.equal(second.code, 5, second.stderr);
      assert.ok(isOneLineError(second.stderr), second.stderr);
      assert.match(second.stderr, /cannot listen on 127\.0\.0\.1:8146: the port is taken/);
    } finally {
      assert.equal(await serve.stop("SIGINT"), 0, serve.stderr());
    }
    assert.deepEqual(listeners(), []);
  },
);

test(
  "another address only when asked, and then with a warning",
  { skip: !isRoot() && "needs root" },
  async () => {
    const wide = await startCli(
      ns,
      ["serve", "--listen", "0.0.0.0:0"],
      state.env,
      /^mapectl serve: http:\/\/0\.0\.0\.0:(\d+)\//m,
    );
    try {
      assert.deepEqual(listeners(), [`0.0.0.0:${wide.match[1] ?? ""}`]);
      const warning = wide.stderr().trim();
      assert.ok(isOneLineError(warning), warning);
      assert.match(
        warning,
        /^mapectl: warning: serving on 0\.0\.0\.0:\d+, not loopback: anyone who can reach it sees/,
      );
    } finally {
      assert.equal(await wide.stop("SIGTERM"), 0);
    }
    const v6 = await startCli(
      ns,
      ["serve", "--listen", "[::1]:0"],
      state.env,
      /^mapectl serve: http:\/\/\[::1\]:(\d+)\//m,
    );
    try {
      assert.deepEqual(listeners(), [`[::1]:${v6.match[1] ?? ""}`]);
      assert.equal(v6.stderr(), "");
    } finally {
      assert.equal(await v6.stop("SIGTERM"), 0);
    }
    const absent = ns.run(
      [process.execPath, CLI, "serve", "--listen", "192.0.2.1:8146"],
      undefined,
      state.env,
    );
    assert.equal(absent.code, 5, absent.stderr);
    assert.match(absent.stderr, /^mapectl: warning: serving on 192\.0\.2\.1:8146/);
    assert.match(
      absent.stderr,
      /\nmapectl: cannot listen on 192\.0\.2\.1:8146: no interface of this host has that address\n$/,
    );
  },
);

test(
  "ports --watch refreshes until Ctrl-C and then ends with status 0",
  { skip: !isRoot() && "needs root" },
  async () => {
    const watch = await startCli(
      ns,
      ["ports", "--watch"],
      state.env,
      /^ {2}busiest destinations[\s\S]*?\n[\s\S]*?busiest destinations/m,
    );
    assert.equal(await watch.stop("SIGINT"), 0, watch.stderr());
    const frames =
      watch.stdout().match(/^mapectl ports: 133\.209\.13\.2 PSID 65, 240 ports in 15 blocks$/gm) ?? [];
    assert.ok(frames.length >= 2, watch.stdout());
    assert.equal(watch.stderr(), "");
  },
);
