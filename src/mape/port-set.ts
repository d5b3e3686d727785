/** An inclusive port range [first, last]. */
export type PortRange = readonly [number, number];

/**
 * RFC 7597 §5.1: port = A·2^(16−a) + PSID·2^m + j with m = 16 − a − k. With a > 0, A starts at 1 so
 * the system ports 0–1023 (A = 0) are never handed out; with k = 0 the CE owns every port.
 */
export function portSets(psidOffset: number, psidLength: number, psid: number): PortRange[] {
  if (psidLength === 0) return [[0, 65535]];
  const m = 16 - psidOffset - psidLength;
  const blockSize = 2 ** m;
  const sets: PortRange[] = [];
  for (let a = psidOffset > 0 ? 1 : 0; a < 2 ** psidOffset; a++) {
    const first = a * 2 ** (16 - psidOffset) + psid * blockSize;
    sets.push([first, first + blockSize - 1]);
  }
  return sets;
}

export function portCount(sets: readonly PortRange[]): number {
  return sets.reduce((sum, [first, last]) => sum + last - first + 1, 0);
}

/** The PSID a port belongs to under (a, k), i.e. what a BR checks on every packet. */
export function psidOfPort(port: number, psidOffset: number, psidLength: number): number {
  if (psidLength === 0) return 0;
  const m = 16 - psidOffset - psidLength;
  return Math.floor(port / 2 ** m) % 2 ** psidLength;
}

/** True when the port lies in the port set of `psid` (A = 0 is excluded when a > 0). */
export function portInSet(port: number, psidOffset: number, psidLength: number, psid: number): boolean {
  if (psidLength === 0) return true;
  if (psidOffset > 0 && port < 2 ** (16 - psidOffset)) return false;
  return psidOfPort(port, psidOffset, psidLength) === psid;
}
