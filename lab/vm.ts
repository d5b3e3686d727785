import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { chooseAccel, hostTscKhz, type Accel, type AccelChoice } from "./accel.ts";
import { AgentClient } from "./agent-client.ts";
import { buildInitramfs } from "./initramfs.ts";
import { prepareKernel, type LabKernel } from "./kernel.ts";
import { cacheRoot, repoRoot } from "./paths.ts";
import { buildInsnCountPlugin, readInsnCounts } from "./plugins/insn-count.ts";

export interface VmOptions {
  accel?: Accel | "auto";
  memoryMiB?: number;
  cpus?: number;
  /** Boot to agent-ready; a hung boot is killed after this. */
  bootTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * Load the lab's TCG plugin that counts guest instructions per vCPU (benches only: it slows
   * emulation; ignored under KVM, where nothing counts).
   */
  countInstructions?: boolean;
  /**
   * More kernel command-line parameters (`name=value` or `name`), e.g. a bench's CPU isolation;
   * each is checked to be one plain word, so none can end the command line or start another.
   */
  kernelArgs?: readonly string[];
}

export interface BootedVm {
  readonly agent: AgentClient;
  readonly kernel: LabKernel;
  readonly accel: AccelChoice;
  /** Host folder that the guest sees at the same path, writable (reports, pcaps, logs). */
  readonly resultsDir: string;
  readonly consoleLog: string;
  /** Host wall seconds from qemu start to the agent's first line. */
  readonly bootSeconds: number;
  readonly guestUptimeAtReady: number;
  /** Guest instructions per vCPU since boot; undefined unless booted with countInstructions under TCG. */
  readonly instructionCounts: (() => Promise<number[]>) | undefined;
  /** The plugin's socket (windows, per-block profile: lab/plugins/insn-count.ts), when it is loaded. */
  readonly insnPluginSocket: string | undefined;
  stop(): Promise<void>;
}

export const QEMU = "qemu-system-x86_64";

function hasSetprivPdeathsig(): boolean {
  const result = spawnSync("setpriv", ["--help"], { encoding: "utf8" });
  return result.status === 0 && result.stdout.includes("--pdeathsig");
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no console log)";
  }
}

/** Run folders of labs whose host process was killed: old enough that no lab can still be running. */
function removeStaleRuns(runsDir: string): void {
  const cutoff = Date.now() - 6 * 3600_000;
  for (const name of readdirSync(runsDir)) {
    const path = join(runsDir, name);
    try {
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
    } catch {
      // another lab removed it first
    }
  }
}

interface RunFiles {
  readonly resultsDir: string;
  readonly socketPath: string;
  readonly consoleLog: string;
  readonly qemuLog: string;
  readonly insnSocket: string;
}

function newRunFiles(): RunFiles {
  const runsDir = join(cacheRoot(), "runs");
  mkdirSync(runsDir, { recursive: true });
  removeStaleRuns(runsDir);
  const runDir = mkdtempSync(join(runsDir, "vm-"));
  const resultsDir = join(runDir, "results");
  mkdirSync(resultsDir);
  return {
    resultsDir,
    socketPath: join(runDir, "agent.sock"),
    consoleLog: join(runDir, "console.log"),
    qemuLog: join(runDir, "qemu.log"),
    insnSocket: join(runDir, "insn.sock"),
  };
}

const KERNEL_ARG = /^[A-Za-z0-9_.-]+(=[A-Za-z0-9_.,:-]+)?$/;

function kernelCommandLine(
  repo: string,
  kernel: LabKernel,
  resultsDir: string,
  extra: readonly string[] = [],
): string {
  const bad = extra.find((arg) => !KERNEL_ARG.test(arg));
  if (bad !== undefined) throw new Error(`not a kernel parameter: ${JSON.stringify(bad)}`);
  return [
    "console=ttyS0",
    "quiet",
    "panic=-1",
    `tsc_early_khz=${hostTscKhz()}`,
    // No 8250 probing beyond the one UART, no EDD or PS/2 probing: each costs seconds under TCG.
    "8250.nr_uarts=1",
    "i8042.noaux",
    "i8042.nokbd",
    "edd=off",
    "random.trust_cpu=on",
    `mapectl.stage2=${join(repo, "lab", "guest", "stage2.sh")}`,
    `mapectl.agent=${join(repo, "lab", "guest", "agent.mjs")}`,
    // The host's own node (the guest sees the host's root), wherever it is installed.
    `mapectl.node=${process.execPath}`,
    `mapectl.modules=${kernel.modulesDir}`,
    `mapectl.results=${resultsDir}`,
    ...extra,
  ].join(" ");
}

function qemuArgv(
  options: VmOptions,
  accel: AccelChoice,
  kernel: LabKernel,
  initramfs: string,
  append: string,
  files: RunFiles,
  plugin: string | undefined,
): string[] {
  const args = [
    ...(plugin === undefined ? [] : ["-plugin", `file=${plugin},sock=${files.insnSocket}`]),
    "-M",
    "microvm",
    ...(accel.accel === "kvm"
      ? ["-accel", "kvm", "-cpu", "host"]
      : ["-accel", "tcg,thread=multi", "-cpu", "max"]),
    "-smp",
    String(options.cpus ?? 2),
    "-m",
    String(options.memoryMiB ?? 1024),
    "-nodefaults",
    "-no-user-config",
    "-nographic",
    "-no-reboot",
    "-kernel",
    kernel.vmlinux,
    "-initrd",
    initramfs,
    "-append",
    append,
    "-serial",
    `file:${files.consoleLog}`,
    "-fsdev",
    "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
    "-device",
    "virtio-9p-device,fsdev=hostroot,mount_tag=hostroot",
    "-fsdev",
    `local,id=results,path=${files.resultsDir},security_model=none,multidevs=remap`,
    "-device",
    "virtio-9p-device,fsdev=results,mount_tag=results",
    "-device",
    "virtio-serial-device",
    "-chardev",
    `socket,id=agent,path=${files.socketPath},server=on,wait=off`,
    "-device",
    "virtserialport,chardev=agent,name=org.mapectl.agent",
  ];
  // If this process dies, the kernel kills qemu (setpriv --pdeathsig); the guest agent also exits
  // when the socket closes, which reboots and so ends the VM.
  return hasSetprivPdeathsig() ? ["setpriv", "--pdeathsig", "KILL", "--", QEMU, ...args] : [QEMU, ...args];
}

interface QemuProcess {
  readonly exited: Promise<void>;
  hasExited(): boolean;
  kill(): Promise<void>;
}

function spawnQemu(argv: readonly string[], qemuLog: string): QemuProcess {
  const errFd = openSync(qemuLog, "w");
  const child: ChildProcess = spawn(argv[0] ?? QEMU, argv.slice(1), { stdio: ["ignore", errFd, errFd] });
  closeSync(errFd);
  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.on("exit", () => {
      exited = true;
      resolveExit();
    });
    child.on("error", () => {
      exited = true;
      resolveExit();
    });
  });
  return {
    exited: exitPromise,
    hasExited: () => exited,
    kill: async () => {
      if (!exited) child.kill("SIGKILL");
      await exitPromise;
    },
  };
}

async function waitForAgent(
  qemu: QemuProcess,
  files: RunFiles,
  bootTimeoutMs: number,
): Promise<{ agent: AgentClient; ready: Awaited<ReturnType<AgentClient["waitReady"]>> }> {
  try {
    const agent = await AgentClient.connect(files.socketPath, 10_000);
    const ready = await Promise.race([
      agent.waitReady(bootTimeoutMs),
      qemu.exited.then(() => {
        throw new Error("qemu exited during boot");
      }),
    ]);
    return { agent, ready };
  } catch (err) {
    await qemu.kill();
    const qemuText = existsSync(files.qemuLog) ? readFileSync(files.qemuLog, "utf8").trim() : "";
    throw new Error(
      `lab VM did not boot: ${(err as Error).message}\n` +
        (qemuText === "" ? "" : `qemu: ${qemuText}\n`) +
        `last console lines (${files.consoleLog}):\n${tail(files.consoleLog, 15)}`,
      { cause: err },
    );
  }
}

/** Boots Debian's kernel under qemu with the host's root over 9p and waits for the guest agent. */
export async function bootVm(options: VmOptions = {}): Promise<BootedVm> {
  const log = options.log ?? (() => undefined);
  const repo = repoRoot();
  const kernel = await prepareKernel(log);
  const initramfs = buildInitramfs(kernel, join(repo, "lab", "guest", "init.sh"));
  const accel = chooseAccel(options.accel ?? "auto");
  const files = newRunFiles();
  const append = kernelCommandLine(repo, kernel, files.resultsDir, options.kernelArgs);
  const plugin =
    options.countInstructions === true && accel.accel === "tcg" ? buildInsnCountPlugin() : undefined;
  const argv = qemuArgv(options, accel, kernel, initramfs, append, files, plugin);
  const started = Date.now();
  const qemu = spawnQemu(argv, files.qemuLog);
  const { agent, ready } = await waitForAgent(qemu, files, options.bootTimeoutMs ?? 90_000);
  const bootSeconds = (Date.now() - started) / 1000;
  log(`lab: booted ${kernel.release} (${accel.accel}) in ${bootSeconds.toFixed(1)} s`);
  return {
    agent,
    kernel,
    accel,
    resultsDir: files.resultsDir,
    consoleLog: files.consoleLog,
    bootSeconds,
    guestUptimeAtReady: typeof ready.uptime === "number" ? ready.uptime : Number.NaN,
    instructionCounts: plugin === undefined ? undefined : () => readInsnCounts(files.insnSocket),
    insnPluginSocket: plugin === undefined ? undefined : files.insnSocket,
    async stop() {
      if (!qemu.hasExited()) {
        try {
          await agent.request({ op: "shutdown" }, 5000);
        } catch {
          // the VM may already be gone
        }
        agent.close();
        const timer = setTimeout(() => void qemu.kill(), 10_000);
        await qemu.exited;
        clearTimeout(timer);
      }
      agent.close();
    },
  };
}
