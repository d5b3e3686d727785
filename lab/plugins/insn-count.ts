import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { cacheRoot, repoRoot } from "../paths.ts";

// The lab's guest-instruction counter: a TCG plugin of the project's own (insn-count.c), built with
// the system compiler on first use and cached by the hash of its source, so an edit rebuilds it.

/**
 * Builds a C source of the lab's with the system compiler, cached by the hash of the source (an
 * edit rebuilds it), and returns the output's path; throws one line if the compiler fails.
 * `shared` makes a shared object (a qemu plugin), else a program (which the guest runs from the
 * host's root).
 */
export function buildLabC(source: string, name: string, shared: boolean): string {
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 16);
  const dir = join(cacheRoot(), "plugins");
  const out = join(dir, `${name}-${hash}${shared ? ".so" : ""}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const partial = `${out}.${process.pid}.tmp`;
  const cc = process.env.CC ?? "gcc";
  const flags = shared ? ["-shared", "-fPIC"] : [];
  const r = spawnSync(cc, ["-O2", "-Wall", ...flags, "-o", partial, source, "-lpthread"], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split("\n")[0] ?? `exit ${String(r.status)}`;
    throw new Error(`cannot build ${name} with ${cc}: ${why}; install gcc or set CC`);
  }
  renameSync(partial, out);
  return out;
}

/** Builds insn-count.so if its source changed and returns its path. */
export function buildInsnCountPlugin(): string {
  return buildLabC(join(repoRoot(), "lab", "plugins", "insn-count.c"), "insn-count", true);
}

/** Sends one command to the plugin's socket (see insn-count.c) and returns its whole answer. */
export function askInsnPlugin(socketPath: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`instruction-count plugin at ${socketPath} did not answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${command}\n`));
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`instruction-count plugin at ${socketPath}: ${err.message}`));
    });
    socket.on("end", () => {
      clearTimeout(timer);
      if (text.startsWith("error:")) reject(new Error(`instruction-count plugin: ${text.trim()}`));
      else resolve(text);
    });
  });
}

function numbers(text: string, what: string): number[] {
  const values = text.trim().split(" ").map(Number);
  if (values.length === 0 || values.some((n) => !Number.isSafeInteger(n))) {
    throw new Error(`instruction-count plugin sent ${JSON.stringify(text)}, not ${what}`);
  }
  return values;
}

/** The guest instructions each vCPU has executed since boot, vCPU 0 first, read from the plugin's socket. */
export async function readInsnCounts(socketPath: string): Promise<number[]> {
  return numbers(await askInsnPlugin(socketPath, "counts"), "counts");
}

/** Marker-delimited windows so far (see insn-count.c) and each vCPU's instructions inside them. */
export interface InsnWindow {
  readonly opens: number;
  readonly closes: number;
  readonly insns: readonly number[];
}

export async function readInsnWindow(socketPath: string): Promise<InsnWindow> {
  const [opens = 0, closes = 0, ...insns] = numbers(
    await askInsnPlugin(socketPath, "window"),
    "window counts",
  );
  return { opens, closes, insns };
}

/** One translation block of vCPU 0: instructions it executed since boot and inside windows. */
export interface BlockCount {
  /** The block's address and length: the same address can be translated with two lengths. */
  readonly key: string;
  /** Start address; 0 stands for all of user space, 1 for kernel blocks the plugin's table had no room for. */
  readonly address: bigint;
  readonly insns: number;
  readonly windowInsns: number;
}

export async function readInsnProfile(socketPath: string): Promise<BlockCount[]> {
  const text = await askInsnPlugin(socketPath, "profile", 60_000);
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [address = "", length = "", hits = "", windowHits = ""] = line.split(" ");
      const n = Number(length);
      return {
        key: `${address}:${length}`,
        address: BigInt(`0x${address}`),
        insns: n * Number(hits),
        windowInsns: n * Number(windowHits),
      };
    });
}
