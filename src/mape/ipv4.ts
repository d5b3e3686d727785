import { MapeError } from "./errors.ts";

/** An IPv4 prefix as an integer value (host bits zero) and its length. */
export interface Ipv4Prefix {
  readonly value: number;
  readonly length: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Strict dotted-quad parsing: leading zeros are refused because inet_aton would read them as octal
 * and a user copying "133.209.013.002" from a vendor page must not silently get another address.
 */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4)
    throw new MapeError("INVALID_ADDRESS", `"${text}" is not an IPv4 address (want a.b.c.d)`);
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part) || Number(part) > 255) {
      throw new MapeError("INVALID_ADDRESS", `"${text}" is not an IPv4 address: bad octet "${part}"`);
    }
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

export function ipv4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/**
 * Splits "address/length" and parses both halves with `parse` and a length up to `max`; every error
 * names the whole text and says it is not a prefix of this family (`want` is the expected form).
 */
export function splitPrefix<T>(
  text: string,
  family: "IPv4" | "IPv6",
  want: string,
  max: number,
  parse: (address: string) => T,
): { value: T; length: number } {
  const slash = text.indexOf("/");
  if (slash < 0) throw new MapeError("INVALID_PREFIX", `"${text}" is not an ${family} prefix (want ${want})`);
  const length = parsePrefixLength(text, text.slice(slash + 1), max);
  try {
    return { value: parse(text.slice(0, slash)), length };
  } catch (err) {
    throw new MapeError("INVALID_PREFIX", `"${text}" is not an ${family} prefix: ${(err as Error).message}`);
  }
}

export function parseIpv4Prefix(text: string): Ipv4Prefix {
  const { value, length } = splitPrefix(text, "IPv4", "a.b.c.d/len", 32, parseIpv4);
  if ((value & ~ipv4Mask(length)) >>> 0 !== 0) {
    throw new MapeError(
      "INVALID_PREFIX",
      `"${text}" has host bits set; the /${length} prefix is ${formatIpv4((value & ipv4Mask(length)) >>> 0)}/${length}`,
    );
  }
  return { value, length };
}

export function formatIpv4Prefix(prefix: Ipv4Prefix): string {
  return `${formatIpv4(prefix.value)}/${prefix.length}`;
}

export function parsePrefixLength(whole: string, text: string, max: number): number {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text) || Number(text) > max) {
    throw new MapeError(
      "INVALID_PREFIX",
      `"${whole}": prefix length "${text}" is not a number from 0 to ${max}`,
    );
  }
  return Number(text);
}
