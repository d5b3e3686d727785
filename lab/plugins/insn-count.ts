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

/** The guest instructions each vCPU has executed since boot, vCPU 0 first, read from the plugin's socket. */
export function readInsnCounts(socketPath: string, timeoutMs = 5000): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`instruction-count plugin at ${socketPath} did not answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`instruction-count plugin at ${socketPath}: ${err.message}`));
    });
    socket.on("end", () => {
      clearTimeout(timer);
      const counts = text.trim().split(" ").map(Number);
      if (counts.length === 0 || counts.some((n) => !Number.isSafeInteger(n))) {
        reject(new Error(`instruction-count plugin sent ${JSON.stringify(text)}, not counts`));
      } else resolve(counts);
    });
  });
}
