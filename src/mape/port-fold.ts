import type { PortRange } from "./port-set.ts";

/**
 * The port set laid end to end: the kernel's NAT has one port range per rule, so mapectl lets it
 * allocate from one contiguous range of as many ports as the set has (the allocation range), and
 * translates each allocated port to the port of the set on the wire, and back, without state.
 * Allocated port `(n + 1)·B + j` is the j-th port of the n-th block (blocks of B ports, in order);
 * under RFC 7597 with a > 0 that is `A·2^m + j` for the wire port `A·2^(16−a) + PSID·2^m + j`.
 */
export interface PortFold {
  /** The allocation range, [B, B·(blocks + 1) − 1]: never port 0, never a port of the set itself. */
  readonly first: number;
  readonly last: number;
  readonly blockSize: number;
  readonly sets: readonly PortRange[];
}

/**
 * The fold of a port set, or null when there is nothing to fold (one block, which the kernel
 * allocates from directly) or the blocks are of unequal size (no port set RFC 7597 defines).
 */
export function portFold(sets: readonly PortRange[]): PortFold | null {
  if (sets.length < 2) return null;
  const blockSize = (sets[0]?.[1] ?? 0) - (sets[0]?.[0] ?? 0) + 1;
  if (sets.some(([lo, hi]) => hi - lo + 1 !== blockSize)) return null;
  const first = blockSize;
  const last = blockSize * (sets.length + 1) - 1;
  // allocated ports must not be ports of the set, or a flow could show one port for another
  if (sets.some(([lo, hi]) => lo <= last && hi >= first)) return null;
  return { first, last, blockSize, sets };
}

/** The wire port of an allocated port, or null outside the allocation range. */
export function foldPort(fold: PortFold, allocated: number): number | null {
  if (allocated < fold.first || allocated > fold.last) return null;
  const block = Math.floor(allocated / fold.blockSize) - 1;
  const start = fold.sets[block]?.[0];
  return start === undefined ? null : start + (allocated % fold.blockSize);
}

/** The allocated port of a wire port of the set, or null for a port outside the set. */
export function unfoldPort(fold: PortFold, wire: number): number | null {
  const block = fold.sets.findIndex(([lo, hi]) => wire >= lo && wire <= hi);
  if (block < 0) return null;
  const start = fold.sets[block]?.[0] ?? 0;
  return (block + 1) * fold.blockSize + (wire - start);
}

/** Every allocated port with its wire port, in order. */
export function foldPairs(fold: PortFold): [number, number][] {
  const pairs: [number, number][] = [];
  for (let p = fold.first; p <= fold.last; p++) pairs.push([p, foldPort(fold, p) ?? p]);
  return pairs;
}

/**
 * The 16-bit one's complement difference `from − to`: written into a word the checksum covers, it
 * cancels the change of another word from `from` to `to`, so the checksum stays right without
 * being recomputed (RFC 1624).
 */
export function checksumCompensation(from: number, to: number): number {
  let sum = from + (0xffff - to);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
