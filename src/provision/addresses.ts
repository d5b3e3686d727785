import { formatIpv4, parseIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, parseIpv6 } from "../mape/ipv6.ts";

/**
 * Wire bytes ↔ text for addresses and prefixes. The core keeps addresses as bigint; the codecs work
 * on bytes and hand the core text, so the bigint arithmetic stays in src/mape and the core's parser
 * remains the one that decides what a valid address is.
 */

/** Canonical (RFC 5952) text of 16 bytes. */
export function ipv6FromBytes(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return formatIpv6(parseIpv6(groups.join(":")));
}

/** 16 bytes of an IPv6 address; throws the core's MapeError for text that is not one. */
export function ipv6ToBytes(text: string): Uint8Array {
  // The canonical form has at most one "::" and a dotted quad only for IPv4-mapped addresses.
  const canonical = formatIpv6(parseIpv6(text));
  const out = new Uint8Array(16);
  if (canonical.startsWith("::ffff:") && canonical.includes(".")) {
    out[10] = 0xff;
    out[11] = 0xff;
    const v4 = parseIpv4(canonical.slice(7));
    out.set([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255], 12);
    return out;
  }
  const [head = "", tail] = canonical.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined
      ? left
      : [...left, ...new Array<string>(8 - left.length - right.length).fill("0"), ...right];
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    out[2 * i] = value >>> 8;
    out[2 * i + 1] = value & 0xff;
  });
  return out;
}

/** Keeps the first `length` bits, zeroing the rest: RFC 7598 says receivers ignore bits past the length. */
export function maskBits(bytes: Uint8Array, length: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const keep = Math.min(Math.max(length - 8 * i, 0), 8);
    out[i] = (bytes[i] ?? 0) & (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** True when some bit at or after `length` is set in the first `size` bytes. */
export function hasBitsAfter(bytes: Uint8Array, length: number, size: number): boolean {
  const masked = maskBits(bytes, length, size);
  for (let i = 0; i < size; i++) if ((bytes[i] ?? 0) !== masked[i]) return true;
  return false;
}

export function ipv6PrefixText(bytes: Uint8Array, length: number): string {
  return `${ipv6FromBytes(maskBits(bytes, length, 16))}/${length}`;
}

export function ipv4FromBytes(bytes: Uint8Array): string {
  return formatIpv4(
    (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0,
  );
}

export function ipv4ToBytes(text: string): Uint8Array {
  const v = parseIpv4(text);
  return Uint8Array.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
}

export function ipv4PrefixText(bytes: Uint8Array, length: number): string {
  return `${ipv4FromBytes(maskBits(bytes, length, 4))}/${length}`;
}

/** "addr/len" split into the address's bytes and the length, for encoders fed by tests and configs. */
export function splitPrefix(text: string): { bytes: Uint8Array; length: number; v6: boolean } {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const v6 = address.includes(":");
  const length = slash < 0 ? (v6 ? 128 : 32) : Number(text.slice(slash + 1));
  return { bytes: v6 ? ipv6ToBytes(address) : ipv4ToBytes(address), length, v6 };
}
