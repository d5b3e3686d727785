import type { BlockCount } from "../../lab/plugins/insn-count.ts";
import { bySymbol, symbolOf, type KernelSymbol } from "../../lab/plugins/kernel-symbols.ts";

// Where vCPU 0's instructions go, by kernel symbol: the plugin counts executions per translation
// block (lab/plugins/insn-count.c), and the guest's /proc/kallsyms names the addresses
// (lab/plugins/kernel-symbols.ts).

/**
 * The lock slow paths where a CPU spins until another releases the lock (the queued spinlock's and
 * the queued rwlock's): under TCG every turn of the loop is counted, so what they count is how
 * long the holder took (vCPU 1, which the host may have off its CPU), not what the path costs.
 */
export const SPIN_WAIT_SYMBOL = /^(native_|__pv_)?queued_(spin|read|write)_lock_slowpath$/;

/** Of a window's blocks, the instructions executed in the spin-wait slow paths. */
export function spinWaitInsns(
  symbols: readonly KernelSymbol[],
  blocks: ReadonlyMap<string, BlockCount>,
): number {
  let n = 0;
  for (const b of blocks.values())
    if (SPIN_WAIT_SYMBOL.test(symbolOf(symbols, b.address))) n += b.windowInsns;
  return n;
}

/** What each block executed inside the windows between two profile reads. */
export function windowDifference(
  before: ReadonlyMap<string, BlockCount>,
  after: ReadonlyMap<string, BlockCount>,
): Map<string, BlockCount> {
  const out = new Map<string, BlockCount>();
  for (const [key, b] of after) {
    const windowInsns = b.windowInsns - (before.get(key)?.windowInsns ?? 0);
    if (windowInsns !== 0) out.set(key, { ...b, windowInsns });
  }
  return out;
}

/** (big − small) ÷ units per block: the marginal cost of one more packet, as the figures are. */
export function perUnit(
  big: ReadonlyMap<string, BlockCount>,
  small: ReadonlyMap<string, BlockCount>,
  units: number,
): Map<string, BlockCount> {
  const out = new Map<string, BlockCount>();
  for (const key of new Set([...big.keys(), ...small.keys()])) {
    const b = big.get(key) ?? small.get(key);
    if (b === undefined) continue;
    const windowInsns = ((big.get(key)?.windowInsns ?? 0) - (small.get(key)?.windowInsns ?? 0)) / units;
    out.set(key, { ...b, windowInsns });
  }
  return out;
}

const TOP = 25;
const round1 = (x: number) => Math.round(x * 10) / 10;

function meanBySymbol(perRun: readonly Map<string, number>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const run of perRun)
    for (const [name, n] of run) out.set(name, (out.get(name) ?? 0) + n / perRun.length);
  return out;
}

function top(entries: Iterable<[string, number]>, by: (n: number) => number) {
  return [...entries].sort((a, b) => by(b[1]) - by(a[1])).slice(0, TOP);
}

/**
 * The report of `--profile`: for each path, its top symbols by vCPU 0 instructions per unit (a
 * UDP datagram, a MB of TCP; mean of the runs) and the symbols that moved most between its runs;
 * and MAP-E minus plain routing by symbol, "where the rest goes".
 */
export function profileReport<Run>(
  symbols: readonly KernelSymbol[],
  runs: Readonly<Record<string, readonly Run[]>>,
  blocksOf: (run: Run) => ReadonlyMap<string, BlockCount>,
  unit: string,
) {
  const text = symbols.find((s) => s.name === "_text")?.address;
  const paths: Record<string, unknown> = {};
  const means: Record<string, Map<string, number>> = {};
  for (const [name, pathRuns] of Object.entries(runs)) {
    const perRun = pathRuns.map((r) => bySymbol(symbols, blocksOf(r)));
    const mean = meanBySymbol(perRun);
    means[name] = mean;
    const spread = [...mean.keys()].map((sym): [string, number] => {
      const values = perRun.map((run) => run.get(sym) ?? 0);
      return [sym, Math.max(...values) - Math.min(...values)];
    });
    paths[name] = {
      insnsPerUnit: round1([...mean.values()].reduce((a, b) => a + b, 0)),
      top: top(mean, (n) => n).map(([sym, n]) => ({ symbol: sym, insns: round1(n) })),
      runToRunMaxMinusMin: top(spread, (n) => n)
        .slice(0, 15)
        .map(([sym, n]) => ({
          symbol: sym,
          insns: round1(n),
          runs: perRun.map((run) => round1(run.get(sym) ?? 0)),
        })),
    };
  }
  const plain = means.plain ?? new Map<string, number>();
  const mape = means.mape ?? new Map<string, number>();
  const difference = [...new Set([...plain.keys(), ...mape.keys()])].map((sym): [string, number] => [
    sym,
    (mape.get(sym) ?? 0) - (plain.get(sym) ?? 0),
  ]);
  return {
    kaslrOffset: text === undefined ? null : `0x${(text - 0xffffffff81000000n).toString(16)}`,
    paths,
    mapeMinusPlain: top(difference, Math.abs).map(([sym, n]) => ({
      symbol: sym,
      insns: round1(n),
      mape: round1(mape.get(sym) ?? 0),
      plain: round1(plain.get(sym) ?? 0),
    })),
    note: `vCPU 0 instructions per ${unit} by the kernel symbol each translation block starts in (guest /proc/kallsyms), mean of the runs`,
  };
}
