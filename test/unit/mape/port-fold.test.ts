import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checksumCompensation,
  foldPairs,
  foldPort,
  portFold,
  unfoldPort,
} from "../../../src/mape/port-fold.ts";
import { portInSet, portSets } from "../../../src/mape/port-set.ts";

test("BIGLOBE (a=4, k=8, PSID 65): 16-255 fold onto the 240 ports of the set, the issue's i·16 + j", () => {
  const fold = portFold(portSets(4, 8, 65));
  assert.ok(fold !== null);
  assert.deepEqual([fold.first, fold.last], [16, 255]);
  assert.equal(foldPort(fold, 16), 4096 + 65 * 16);
  assert.equal(foldPort(fold, 7 * 16 + 9), 7 * 4096 + 65 * 16 + 9);
  assert.equal(foldPort(fold, 15), null);
  assert.equal(foldPort(fold, 256), null);
  assert.equal(unfoldPort(fold, 5140), 20);
  assert.equal(unfoldPort(fold, 5152), null);
});

for (const [a, k] of [
  [4, 8],
  [6, 6],
  [4, 6],
  [2, 10],
  [4, 12],
] as const) {
  test(`a=${a}, k=${k}: the fold is a bijection from the allocation range onto the set, for every PSID tried`, () => {
    for (const psid of [0, 1, 2 ** k - 1, Math.floor(2 ** k / 3)]) {
      const sets = portSets(a, k, psid);
      const fold = portFold(sets);
      assert.ok(fold !== null);
      const pairs = foldPairs(fold);
      const count = sets.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
      assert.equal(pairs.length, count);
      assert.equal(new Set(pairs.map(([, w]) => w)).size, count);
      for (const [allocated, wire] of pairs) {
        assert.ok(portInSet(wire, a, k, psid), `${allocated} → ${wire}`);
        assert.ok(!portInSet(allocated, a, k, psid), `allocated port ${allocated} is itself in the set`);
        assert.equal(unfoldPort(fold, wire), allocated);
      }
    }
  });
}

test("one block (a = 0) or the whole port space has nothing to fold", () => {
  assert.equal(portFold(portSets(0, 8, 3)), null);
  assert.equal(portFold(portSets(4, 0, 0)), null);
});

/** The 16-bit one's complement sum of words, as the Internet checksum adds them. */
function sum(words: readonly number[]): number {
  let s = 0;
  for (const w of words) {
    s += w;
    s = (s & 0xffff) + (s >> 16);
  }
  return s;
}

test("the compensation word keeps the one's complement sum when a port is rewritten", () => {
  const fold = portFold(portSets(4, 8, 65));
  assert.ok(fold !== null);
  for (const [allocated, wire] of foldPairs(fold)) {
    const rest = [0x4500, 0x0054, wire ^ 0x5a5a, 0x1234, 0xffff];
    const before = sum([0, wire, ...rest]);
    const after = sum([checksumCompensation(wire, allocated), allocated, ...rest]);
    // 0x0000 and 0xffff are the same number in one's complement
    assert.equal(before % 0xffff, after % 0xffff, `${wire} → ${allocated}`);
  }
});
