import { MapeError } from "./errors.ts";
import { formatIpv4, parseIpv4, splitPrefix } from "./ipv4.ts";

/** An IPv6 prefix as a 128-bit value (host bits zero) and its length. */
export interface Ipv6Prefix {
  readonly value: bigint;
  readonly length: number;
}

const ALL_ONES = (1n << 128n) - 1n;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function invalid(text: string, why: string): MapeError {
  return new MapeError("INVALID_ADDRESS", `"${text}" is not an IPv6 address: ${why}`);
}

function parseGroups(groups: string[], whole: string, endsAddress: boolean): number[] {
  const out: number[] = [];
  groups.forEach((group, index) => {
    if (endsAddress && index === groups.length - 1 && group.includes(".")) {
      const v4 = parseIpv4(group);
      out.push(v4 >>> 16, v4 & 0xffff);
      return;
    }
    if (!HEXTET.test(group)) throw invalid(whole, `bad group "${group}"`);
    out.push(parseInt(group, 16));
  });
  return out;
}

export function parseIpv6(text: string): bigint {
  if (text.includes("%")) throw invalid(text, "a zone index (%…) is not allowed here");
  const halves = text.split("::");
  if (halves.length > 2) throw invalid(text, '"::" may appear only once');
  let groups: number[];
  if (halves.length === 2) {
    const [head = "", tail = ""] = halves;
    const left = head === "" ? [] : parseGroups(head.split(":"), text, false);
    const right = tail === "" ? [] : parseGroups(tail.split(":"), text, true);
    if (left.length + right.length > 7) throw invalid(text, 'too many groups around "::"');
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = parseGroups(text.split(":"), text, true);
    if (groups.length !== 8) throw invalid(text, `it has ${groups.length} groups, not 8`);
  }
  // One BigInt from 32 hex digits: far cheaper than eight shifts when whole tables are parsed.
  return BigInt(`0x${groups.map((g) => g.toString(16).padStart(4, "0")).join("")}`);
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
    return `::ffff:${formatIpv4(Number(value & 0xffffffffn))}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

export function ipv6Mask(length: number): bigint {
  return length === 0 ? 0n : (ALL_ONES << BigInt(128 - length)) & ALL_ONES;
}

export function parseIpv6Prefix(text: string): Ipv6Prefix {
  const { value, length } = splitPrefix(text, "IPv6", "address/length", 128, parseIpv6);
  const masked = value & ipv6Mask(length);
  if (masked !== value) {
    throw new MapeError(
      "INVALID_PREFIX",
      `"${text}" has bits set after /${length}; the prefix is ${formatIpv6(masked)}/${length}`,
    );
  }
  return { value, length };
}

export function formatIpv6Prefix(prefix: Ipv6Prefix): string {
  return `${formatIpv6(prefix.value)}/${prefix.length}`;
}

/** True when `outer` contains `inner` (equal prefixes contain each other). */
export function ipv6PrefixContains(outer: Ipv6Prefix, inner: Ipv6Prefix): boolean {
  return outer.length <= inner.length && (inner.value & ipv6Mask(outer.length)) === outer.value;
}

/** The `width` bits that start `start` bits from the left of a 128-bit value. */
export function ipv6Bits(value: bigint, start: number, width: number): bigint {
  if (width === 0) return 0n;
  return (value >> BigInt(128 - start - width)) & ((1n << BigInt(width)) - 1n);
}
