import type { BlockCount } from "./insn-count.ts";

// Names the instruction-count plugin's block addresses with the guest's own /proc/kallsyms.
// Debian's linux-image package ships no real System.map (its System.map is a one-line pointer to
// the -dbg package), and a router's hot paths are in modules (nf_tables, nf_conntrack, ip6_tunnel,
// nf_flow_table) that no System.map covers; kallsyms has both, at this boot's addresses (KASLR
// included), and root reads it.

export interface KernelSymbol {
  readonly address: bigint;
  readonly name: string;
}

/** Text symbols of /proc/kallsyms, by address; a module's symbols carry its name. */
export function parseKallsyms(text: string): KernelSymbol[] {
  const symbols: KernelSymbol[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+) ([tTwW]) (\S+)(?:\s+\[(\S+)\])?/.exec(line);
    if (m === null) continue;
    const address = BigInt(`0x${m[1] ?? "0"}`);
    if (address === 0n) continue;
    symbols.push({ address, name: m[4] === undefined ? (m[3] ?? "") : `${m[3] ?? ""} [${m[4]}]` });
  }
  return symbols.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** The symbol a block starts in: the last one at or below its address. */
export function symbolOf(symbols: readonly KernelSymbol[], address: bigint): string {
  if (address === 0n) return "[user space]";
  if (address === 1n) return "[kernel, not recorded per block]";
  let lo = 0;
  let hi = symbols.length - 1;
  if (hi < 0 || (symbols[0]?.address ?? 0n) > address) return "[unknown]";
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((symbols[mid]?.address ?? 0n) <= address) lo = mid;
    else hi = mid - 1;
  }
  return symbols[lo]?.name ?? "[unknown]";
}

/** Per symbol: the blocks' window instructions summed. */
export function bySymbol(
  symbols: readonly KernelSymbol[],
  blocks: ReadonlyMap<string, BlockCount>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of blocks.values()) {
    const name = symbolOf(symbols, b.address);
    out.set(name, (out.get(name) ?? 0) + b.windowInsns);
  }
  return out;
}
