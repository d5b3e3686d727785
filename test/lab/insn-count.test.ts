import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildInsnCountPlugin, readInsnCounts } from "../../lab/plugins/insn-count.ts";
import { QEMU } from "../../lab/vm.ts";
import { waitFor } from "../../lab/wait.ts";

const missing = ["gcc", QEMU].find((tool) => spawnSync(tool, ["--version"]).status !== 0);
// The plugin is built into the lab's cache, which is root's (as the lab is).
const skip =
  missing !== undefined
    ? `${missing} is not installed`
    : process.getuid?.() !== 0
      ? "needs root (the lab's cache)"
      : false;

// No lab kernel needed: the PC firmware alone executes instructions on vCPU 0 and finds nothing
// to boot, which is enough to see the plugin count per vCPU and answer on its socket.
test("the instruction-count plugin counts per vCPU and answers on its socket", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "insn-count-"));
  const socket = join(dir, "insn.sock");
  const qemu = spawn(
    QEMU,
    [
      "-M",
      "pc",
      "-accel",
      "tcg,thread=multi",
      "-smp",
      "2",
      "-m",
      "64",
      "-nodefaults",
      "-display",
      "none",
    ].concat(["-plugin", `file=${buildInsnCountPlugin()},sock=${socket}`]),
    { stdio: "ignore" },
  );
  try {
    await waitFor("the plugin's socket", 20_000, () => Promise.resolve(existsSync(socket) ? true : null));
    const first = await readInsnCounts(socket);
    await new Promise((r) => setTimeout(r, 500));
    const second = await readInsnCounts(socket);
    assert.equal(first.length, 2, `one count per vCPU, got ${JSON.stringify(first)}`);
    assert.ok((first[0] ?? 0) > 0, "vCPU 0 ran the firmware");
    assert.ok(
      second.every((n, i) => n >= (first[i] ?? Infinity)),
      "counts never go back",
    );
  } finally {
    qemu.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
