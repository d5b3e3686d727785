// Cold start of `mapectl calc --json` against a bare `node -e 0`, interleaved in one run so both
// see the same machine load. Goal: ratio of medians ≤ 1.5.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../dist/mapectl.cjs", import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 40);

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const bare: number[] = [];
const calc: number[] = [];
time(["-e", "0"]); // warm the page cache for both
time([cli, "calc", "2404:7a82:4d02:4100::/56", "--json"]);
for (let i = 0; i < runs; i++) {
  bare.push(time(["-e", "0"]));
  calc.push(time([cli, "calc", "2404:7a82:4d02:4100::/56", "--json"]));
}
const ratio = median(calc) / median(bare);
console.log(
  JSON.stringify({
    bench: "calc-startup",
    runs,
    nodeBareMs: Number(median(bare).toFixed(1)),
    calcJsonMs: Number(median(calc).toFixed(1)),
    ratio: Number(ratio.toFixed(2)),
    goal: "<= 1.5",
    met: ratio <= 1.5,
  }),
);
