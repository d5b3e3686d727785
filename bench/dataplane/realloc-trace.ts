import type { Lab } from "../../lab/lab.ts";

// Which kernel function reallocates packets' heads, and how often: ftrace's function tracer on
// pskb_expand_head with a stack per call, around one transfer that the cost figures do not count
// (tracing costs instructions of its own). The profile names pskb_expand_head; this names its
// caller, so the figure says where the headroom was missing rather than guessing it.

const TRACING = "/sys/kernel/tracing";
const TRACED = "pskb_expand_head";

export interface HeadReallocations {
  /** Calls of pskb_expand_head during the transfer. */
  readonly calls: number;
  /** Calls by the call chain's first frames (callee first), most frequent first. */
  readonly callers: Record<string, number>;
}

async function tracing(lab: Lab, lines: readonly string[]): Promise<string> {
  const mount = `mountpoint -q ${TRACING} || mount -t tracefs nodev ${TRACING}`;
  return lab.guest.run(null, ["sh", "-c", [mount, `cd ${TRACING}`, ...lines].join("\n")]);
}

/** Counts pskb_expand_head's calls, by their callers, while `transfer` runs. */
export async function traceHeadReallocations(
  lab: Lab,
  transfer: () => Promise<unknown>,
): Promise<HeadReallocations> {
  await tracing(lab, [
    "echo 0 > tracing_on",
    "echo nop > current_tracer",
    "echo 8192 > buffer_size_kb",
    `echo ${TRACED} > set_ftrace_filter`,
    "echo function > current_tracer",
    "echo 1 > options/func_stack_trace",
    "echo > trace",
    "echo 1 > tracing_on",
  ]);
  try {
    await transfer();
  } finally {
    await tracing(lab, ["echo 0 > tracing_on"]);
  }
  const text = await tracing(lab, ["cat trace"]);
  await tracing(lab, [
    "echo 0 > options/func_stack_trace",
    "echo nop > current_tracer",
    "echo > set_ftrace_filter",
    "echo > trace",
  ]);
  return parseTrace(text);
}

/**
 * The function tracer's text: one `… pskb_expand_head <-caller` line per call, each followed by
 * its stack (` => symbol+0x…/0x…` lines, the traced function's caller chain, innermost first).
 * The unwinder starts from ftrace's trampoline, so frames between the caller and a function
 * that called it by a tail call may be missing.
 */
export function parseTrace(text: string): HeadReallocations {
  const counts = new Map<string, number>();
  let calls = 0;
  let chain: string[] | null = null;
  const close = () => {
    if (chain === null) return;
    const key = chain.slice(0, 4).join(" < ");
    counts.set(key, (counts.get(key) ?? 0) + 1);
    chain = null;
  };
  for (const line of text.split("\n")) {
    const frame = /^\s*=>\s*([\w.]+)/.exec(line);
    if (frame !== null && chain !== null) {
      // a bare address is ftrace's own trampoline (allocated where modules live), not a caller
      const name = frame[1] ?? "";
      if (name !== TRACED && !/^0x[0-9a-f]+$/.test(name)) chain.push(name);
      continue;
    }
    if (line.includes(`${TRACED} <-`)) {
      close();
      calls++;
      chain = [];
    } else if (!line.includes("<stack trace>")) close();
  }
  close();
  const callers = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 5));
  return { calls, callers };
}
