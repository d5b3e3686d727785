import assert from "node:assert/strict";
import { test } from "node:test";
import { perUnit, spinWaitInsns, windowDifference } from "../../../bench/dataplane/profile.ts";
import type { BlockCount } from "../../../lab/plugins/insn-count.ts";
import { bySymbol, parseKallsyms, symbolOf } from "../../../lab/plugins/kernel-symbols.ts";

const KALLSYMS = [
  "ffffffff9a000000 T _text",
  "ffffffff9a001000 T udp_rcv",
  "ffffffff9a001400 t __udp4_lib_rcv",
  "ffffffff9a002000 D some_data",
  "0000000000000000 T hidden_by_kptr_restrict",
  "ffffffffc0a00000 t nft_do_chain\t[nf_tables]",
].join("\n");

const block = (address: bigint, length: number, hits: number, windowHits: number): BlockCount => ({
  key: `${address.toString(16)}:${length}`,
  address,
  insns: length * hits,
  windowInsns: length * windowHits,
});

test("kallsyms: text symbols only, by address, modules named, zeroed addresses left out", () => {
  const symbols = parseKallsyms(KALLSYMS);
  assert.deepEqual(
    symbols.map((s) => s.name),
    ["_text", "udp_rcv", "__udp4_lib_rcv", "nft_do_chain [nf_tables]"],
  );
  assert.equal(symbolOf(symbols, 0xffffffff9a001404n), "__udp4_lib_rcv");
  assert.equal(symbolOf(symbols, 0xffffffff9a001000n), "udp_rcv");
  assert.equal(symbolOf(symbols, 0xffffffffc0a00010n), "nft_do_chain [nf_tables]");
  assert.equal(symbolOf(symbols, 0xffffffff80000000n), "[unknown]");
  assert.equal(symbolOf(symbols, 0n), "[user space]");
});

test("window difference and per-unit cost add blocks up by symbol", () => {
  const symbols = parseKallsyms(KALLSYMS);
  const before = new Map([block(0xffffffff9a001400n, 10, 5, 2)].map((b) => [b.key, b]));
  const big = [block(0xffffffff9a001400n, 10, 105, 102), block(0xffffffff9a001480n, 4, 50, 50)];
  const after = new Map(big.map((b) => [b.key, b]));
  const window = windowDifference(before, after);
  // 100 more runs of the 10-instruction block, 50 of the 4-instruction one, both in __udp4_lib_rcv
  assert.deepEqual([...bySymbol(symbols, window)], [["__udp4_lib_rcv", 1200]]);
  const small = new Map([block(0xffffffff9a001400n, 10, 20, 20)].map((b) => [b.key, b]));
  assert.deepEqual([...bySymbol(symbols, perUnit(window, small, 10))], [["__udp4_lib_rcv", 100]]);
});

test("spin-waiting: only the lock slow paths' blocks count, whichever variant the kernel has", () => {
  const symbols = parseKallsyms(
    [
      KALLSYMS,
      "ffffffff9a003000 T native_queued_spin_lock_slowpath",
      "ffffffff9a003400 T queued_read_lock_slowpath",
      "ffffffff9a003800 T _raw_spin_lock",
      "ffffffff9a003c00 T clear_page_erms",
    ].join("\n"),
  );
  const blocks = [
    block(0xffffffff9a003010n, 5, 100, 40), // spinning: 200 in the window
    block(0xffffffff9a003404n, 3, 10, 10), // a reader waiting: 30
    block(0xffffffff9a003800n, 4, 50, 50), // the lock's fast path is the path's own work
    block(0xffffffff9a003c00n, 4096, 2, 1), // so is zeroing a page
    block(0n, 7, 9, 9), // user space
  ];
  assert.equal(spinWaitInsns(symbols, new Map(blocks.map((b) => [b.key, b]))), 230);
});
