import { ipv4Mask, type Ipv4Prefix } from "./ipv4.ts";

/** What kind of IPv6 address a value is, as far as routing it across a provider's network goes. */
export type Ipv6Class =
  | "the unspecified address"
  | "the loopback address"
  | "an IPv4-mapped address"
  | "a multicast address"
  | "a link-local address"
  | "a unique local address (ULA)"
  | "a global unicast address"
  | "a reserved address";

const top = (value: bigint, bits: number): bigint => value >> BigInt(128 - bits);

export function ipv6Class(value: bigint): Ipv6Class {
  if (value === 0n) return "the unspecified address";
  if (value === 1n) return "the loopback address";
  if (value >> 32n === 0xffffn) return "an IPv4-mapped address";
  if (top(value, 8) === 0xffn) return "a multicast address";
  if (top(value, 10) === 0x3fan) return "a link-local address";
  if (top(value, 7) === 0x7en) return "a unique local address (ULA)";
  if (top(value, 3) === 1n) return "a global unicast address";
  return "a reserved address";
}

/**
 * IPv4 ranges that are never a MAP-E pool: a BR translates the CE's packets onto the Internet, where
 * none of these can be a source address (RFC 6890 and RFC 1122 special-purpose blocks). The
 * documentation blocks 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 are not refused: they are
 * what examples and tests use, and reach nobody either way.
 */
const NOT_GLOBAL_IPV4: readonly (readonly [string, number, number])[] = [
  ["0.0.0.0/8 (this network)", 0x00000000, 8],
  ["10.0.0.0/8 (private)", 0x0a000000, 8],
  ["100.64.0.0/10 (shared carrier-grade NAT space)", 0x64400000, 10],
  ["127.0.0.0/8 (loopback)", 0x7f000000, 8],
  ["169.254.0.0/16 (link-local)", 0xa9fe0000, 16],
  ["172.16.0.0/12 (private)", 0xac100000, 12],
  ["192.168.0.0/16 (private)", 0xc0a80000, 16],
  ["224.0.0.0/4 (multicast)", 0xe0000000, 4],
  ["240.0.0.0/4 (reserved, with 255.255.255.255 broadcast)", 0xf0000000, 4],
];

/** The special-purpose block an IPv4 prefix overlaps, or null when it is all global unicast. */
export function nonGlobalIpv4Block(prefix: Ipv4Prefix): string | null {
  for (const [name, base, length] of NOT_GLOBAL_IPV4) {
    const shorter = Math.min(length, prefix.length);
    const mask = ipv4Mask(shorter);
    if ((prefix.value & mask) >>> 0 === (base & mask) >>> 0) return name;
  }
  return null;
}
