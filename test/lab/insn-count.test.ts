import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { bySymbol, parseKallsyms } from "../../lab/plugins/kernel-symbols.ts";
import { Guest } from "../../lab/guest.ts";
import {
  buildInsnCountPlugin,
  buildLabC,
  readInsnCounts,
  readInsnProfile,
  readInsnWindow,
  type BlockCount,
} from "../../lab/plugins/insn-count.ts";
import { labSkip } from "../../lab/preflight.ts";
import { bootVm, QEMU } from "../../lab/vm.ts";
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
    // the socket is up before the vCPUs run: on a loaded host the first reads may see only vCPU 0
    // (the plugin lists vCPUs up to the highest that has run) or nothing counted yet
    let first: number[] = [];
    await waitFor("both vCPUs counted", 20_000, async () => {
      first = await readInsnCounts(socket);
      return first.length === 2 && (first[0] ?? 0) > 0 ? true : null;
    }).catch(() => undefined);
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

const floodSource = fileURLToPath(new URL("../../bench/guest/flood.c", import.meta.url));
const labSkipped = skip !== false ? skip : labSkip({ needsBundle: false });

/** vCPU 0's instructions by kernel symbol between two profile reads: `window` only inside windows. */
function symbolsBetween(
  symbols: ReturnType<typeof parseKallsyms>,
  before: BlockCount[],
  after: BlockCount[],
  field: "insns" | "windowInsns",
): Map<string, number> {
  const was = new Map(before.map((b) => [b.key, b[field]]));
  const moved = new Map(after.map((b) => [b.key, { ...b, windowInsns: b[field] - (was.get(b.key) ?? 0) }]));
  return bySymbol(symbols, moved);
}

// The per-block profile against the guest's kallsyms: a UDP flood over the guest's loopback runs
// the kernel's UDP receive path on vCPU 0 (loopback hands packets on in the sender's softirq), an
// idle stretch does not, and the window's blocks add up to exactly the window's count.
test(
  "the plugin's per-block profile names the UDP receive path in a flood's window, not in idle",
  { skip: labSkipped },
  async () => {
    const vm = await bootVm({ accel: "tcg", countInstructions: true });
    try {
      const guest = new Guest(vm.agent);
      const socket = vm.insnPluginSocket ?? "";
      const flood = buildLabC(floodSource, "flood", false);
      await guest.run(null, ["ip", "link", "set", "lo", "up"]);
      // the agent (sh's parent) and what it starts to vCPU 1; the sender is pinned to vCPU 0
      await guest.run(null, ["sh", "-c", 'taskset -a -p -c 1 "$PPID" >/dev/null']);
      const symbols = parseKallsyms(await guest.run(null, ["cat", "/proc/kallsyms"]));

      const idle0 = await readInsnProfile(socket);
      await guest.run(null, ["sleep", "2"]);
      const idle1 = await readInsnProfile(socket);

      const window0 = await readInsnWindow(socket);
      const flood0 = await readInsnProfile(socket);
      const receiver = guest.run(null, [
        "taskset",
        "-c",
        "1",
        flood,
        "recv",
        "127.0.0.1",
        "9999",
        "2000",
        "3000",
      ]);
      await guest.run(null, [
        "taskset",
        "-c",
        "0",
        flood,
        "send",
        "127.0.0.1",
        "9999",
        "2000",
        "64",
        "16",
        "0",
      ]);
      const received = (JSON.parse(await receiver) as { received: number }).received;
      const window1 = await readInsnWindow(socket);
      const flood1 = await readInsnProfile(socket);

      assert.ok(received > 0, "the receiver got datagrams");
      assert.deepEqual(
        [window1.opens - window0.opens, window1.closes - window0.closes],
        [1, 1],
        "one window",
      );
      const windowInsns = (window1.insns[0] ?? 0) - (window0.insns[0] ?? 0);
      const inFlood = symbolsBetween(symbols, flood0, flood1, "windowInsns");
      const blockSum = [...inFlood.values()].reduce((a, b) => a + b, 0);
      assert.equal(blockSum, windowInsns, "the window's blocks add up to the window's count");
      const inIdle = symbolsBetween(symbols, idle0, idle1, "insns");
      const udpReceive = "__udp4_lib_rcv";
      assert.ok(
        symbols.some((s) => s.name === udpReceive),
        `${udpReceive} is in kallsyms`,
      );
      const perPacket = (inFlood.get(udpReceive) ?? 0) / received;
      assert.ok(
        perPacket > 10,
        `${udpReceive} ran for each datagram (${perPacket.toFixed(1)} instructions per datagram)`,
      );
      assert.equal(inIdle.get(udpReceive) ?? 0, 0, `${udpReceive} does not run while the guest is idle`);
      const unknown = inFlood.get("[unknown]") ?? 0;
      assert.ok(unknown < windowInsns / 100, `${unknown} of ${windowInsns} instructions in no symbol`);
    } finally {
      await vm.stop();
    }
  },
);
