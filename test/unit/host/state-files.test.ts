import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { writeFileAtomic } from "../../../src/host/atomic-file.ts";
import { lockPath, withHostLock } from "../../../src/host/lock.ts";
import { loadState, saveState } from "../../../src/host/state-store.ts";
import type { AppliedState } from "../../../src/plan/reconcile.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";
import { plantLink, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
const saved = process.env.MAPECTL_STATE_DIR;

beforeEach(() => {
  dir = tempDir("state");
  process.env.MAPECTL_STATE_DIR = join(dir, "state");
});
afterEach(() => {
  if (saved === undefined) delete process.env.MAPECTL_STATE_DIR;
  else process.env.MAPECTL_STATE_DIR = saved;
});

function state(): AppliedState {
  const plan = planFor(USER_PREFIX);
  return {
    schemaVersion: 1,
    appliedAt: "2026-12-07T00:00:00Z",
    plan,
    nftScript: renderNftables(plan),
    replacedDefaults: [],
    enabledForwarding: false,
  };
}

test("the state is written without following a link planted where its temporary file used to go", () => {
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  const victim = plantLink(dir, join(stateDir, "state.json.tmp"));
  saveState(state());
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.equal(loadState()?.plan.tunnel.local, state().plan.tunnel.local);
  // nothing of the write is left behind but the state (and the planted link)
  assert.deepEqual(readdirSync(stateDir).sort(), ["state.json", "state.json.tmp"]);
});

test("a state file that is a symbolic link is refused, not written through", () => {
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  const victim = plantLink(dir, join(stateDir, "state.json"));
  assert.throws(() => {
    saveState(state());
  }, /refusing to write .*state\.json: it is a symbolic link/);
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.ok(lstatSync(join(stateDir, "state.json")).isSymbolicLink());
});

test("writeFileAtomic refuses a directory anyone may write to, and sets the mode despite the umask", () => {
  const open = join(dir, "open");
  mkdirSync(open, { mode: 0o777 });
  writeFileAtomic(join(dir, "ok"), "x", 0o640);
  assert.equal(lstatSync(join(dir, "ok")).mode & 0o777, 0o640);
  // mkdir applied the umask; make it really world-writable, without the sticky bit
  chmodSync(open, 0o777);
  assert.throws(() => {
    writeFileAtomic(join(open, "f"), "x", 0o644);
  }, /its directory .* is writable by every user/);
});

const damaged: [string, string, RegExp][] = [
  ["a truncated", '{"schemaVersion": 1, "appliedAt": "2026', /it is not complete JSON/],
  ["an empty", "", /it is empty/],
  ["a partly written (right version, missing fields)", '{"schemaVersion": 1, "appliedAt": "x"}', /plan: /],
  ["a plan without its tunnel in a", "TUNNELLESS", /plan\.tunnel: /],
];

for (const [what, content, why] of damaged) {
  test(`${what} state file is refused in one line that names the way out`, () => {
    const stateDir = join(dir, "state");
    mkdirSync(stateDir);
    const text =
      content === "TUNNELLESS"
        ? JSON.stringify({ ...state(), plan: { ...state().plan, tunnel: undefined } })
        : content;
    writeFileSync(join(stateDir, "state.json"), text);
    assert.throws(
      () => loadState(),
      (err: Error) => {
        assert.equal(err.name, "HostRefusal");
        assert.match(err.message, why);
        assert.match(err.message, /is damaged .*mapectl down --force-owned/);
        assert.equal(err.message.split("\n").length, 1);
        return true;
      },
    );
  });
}

test("the lock refuses while a live process holds it, naming that process", async () => {
  mkdirSync(join(dir, "state"));
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
  try {
    writeFileSync(lockPath(), JSON.stringify({ pid: holder.pid, command: "watch", startTime: null }));
    let ran = false;
    await assert.rejects(
      withHostLock("up", 300, async () => {
        ran = true;
        return Promise.resolve();
      }),
      (err: Error) => {
        assert.equal(err.name, "HostRefusal");
        assert.match(
          err.message,
          new RegExp(`the daemon \\(mapectl watch\\), pid ${String(holder.pid)}, holds .*lock`),
        );
        return true;
      },
    );
    assert.equal(ran, false);
  } finally {
    holder.kill();
  }
});

test("a lock left by a dead process is taken over, and released afterwards", async () => {
  mkdirSync(join(dir, "state"));
  const dead = spawn(process.execPath, ["-e", ""]);
  await new Promise((resolve) => dead.on("exit", resolve));
  writeFileSync(lockPath(), JSON.stringify({ pid: dead.pid, command: "up", startTime: null }));
  const inside = await withHostLock("down", 0, async () => Promise.resolve(readFileSync(lockPath(), "utf8")));
  assert.match(inside, new RegExp(`"pid":${String(process.pid)}`));
  assert.equal(existsSync(lockPath()), false);
});

test("a lock whose PID was reused by a later process is stale", async () => {
  mkdirSync(join(dir, "state"));
  const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
  try {
    // a live PID that started long after the holder recorded in the lock
    writeFileSync(lockPath(), JSON.stringify({ pid: other.pid, command: "up", startTime: "1" }));
    const result = await withHostLock("up", 0, async () => Promise.resolve("ran"));
    assert.equal(result, "ran");
  } finally {
    other.kill();
  }
});

test("two holders in one process never overlap", async () => {
  mkdirSync(join(dir, "state"));
  const order: string[] = [];
  await withHostLock("up", 0, async () => {
    order.push("outer");
    // the daemon's --down-on-exit runs down inside its own process
    await withHostLock("down", 0, async () => {
      order.push("inner");
      return Promise.resolve();
    });
    assert.ok(existsSync(lockPath()), "the inner holder must not release the outer's lock");
  });
  assert.deepEqual(order, ["outer", "inner"]);
  assert.equal(existsSync(lockPath()), false);
});
