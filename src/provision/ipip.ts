import { nonGlobalIpv4Block } from "../mape/address-class.ts";
import { MapectlError } from "../mape/errors.ts";
import { formatIpv4, ipv4Mask, parseIpv4, parsePrefixLength } from "../mape/ipv4.ts";
import { formatIpv6, ipv6Mask, ipv6PrefixContains, parseIpv6, type Ipv6Prefix } from "../mape/ipv6.ts";
import { oneLine } from "../text/one-line.ts";
import type { Hb46ppIpip } from "./hb46pp.ts";

/**
 * IPIP with a fixed IPv4 address (v6プラス 固定IP, transix 固定IP, OCX光, OCN 固定IP): an ip4ip6
 * tunnel from a CE address the provider registered to its BR, with the user's own IPv4 address (or
 * a small routed block) on it. HB46PP 1.1 gives all three (`ipip[]`: ipv6_local, ipv6_remote,
 * ipv4); otherwise the provider's sheet does: the address, the BR and the CE's interface ID, which
 * goes after the line's prefix.
 */
export type IpipFrom = "hb46pp" | "configuration";

export interface IpipParameters {
  /** The router's fixed address: the one given, inside the block. */
  readonly ipv4Address: string;
  /** The length of the block routed to the user; 32 for a single address. */
  readonly ipv4PrefixLength: number;
  readonly br: string;
  /** The CE address when the source gave it whole (HB46PP's ipv6_local); else interfaceId is set. */
  readonly ceAddress: string | null;
  /** The provider's interface ID (the low 64 bits), as an IPv6 address "::a:b:c:d". */
  readonly interfaceId: string | null;
  readonly from: IpipFrom;
}

/** No usable IPIP parameters: says which one is missing and where it would come from. */
export class IpipError extends MapectlError {
  constructor(message: string) {
    super("no-parameters", oneLine(message));
    this.name = "IpipError";
  }
}

/** The smallest block a provider routes is a /32; more than a /24 is not a "fixed address" offer. */
export const MIN_IPIP_PREFIX_LENGTH = 24;

/** "203.0.113.9" or "203.0.113.8/29": the router's address and the routed block's length. */
export function parseFixedIpv4(text: string, from: string): { address: string; prefixLength: number } {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  let value: number;
  let length = 32;
  try {
    value = parseIpv4(addressText);
    if (slash >= 0) length = parsePrefixLength(text, text.slice(slash + 1), 32);
  } catch (err) {
    throw new IpipError(`the fixed IPv4 address from ${from}: ${(err as Error).message}`);
  }
  if (length < MIN_IPIP_PREFIX_LENGTH) {
    throw new IpipError(
      `the fixed IPv4 block ${oneLine(text)} from ${from} is larger than a /${MIN_IPIP_PREFIX_LENGTH}: give the address and the block length the provider assigned`,
    );
  }
  const block = nonGlobalIpv4Block({ value: (value & ipv4Mask(length)) >>> 0, length });
  if (block !== null) {
    throw new IpipError(
      `the fixed IPv4 address ${formatIpv4(value)} from ${from} is in ${block}, not a global address`,
    );
  }
  return { address: formatIpv4(value), prefixLength: length };
}

function ipv6Text(text: string, what: string, from: string): bigint {
  try {
    return parseIpv6(text);
  } catch (err) {
    throw new IpipError(`${what} from ${from}: ${(err as Error).message}`);
  }
}

const LOW_64 = (1n << 64n) - 1n;

/**
 * The provider's interface ID: the low 64 bits of the CE address, written as the provider writes it
 * ("1234:5678:9abc:def0", or as an address "::1234:5678:9abc:def0"). Returned as "::…".
 */
export function parseInterfaceId(text: string, from: string): string {
  const groups = text.startsWith("::") ? text : /^[0-9a-fA-F:]+$/.test(text) ? `::${text}` : text;
  const value = ipv6Text(groups, `the interface ID "${oneLine(text).slice(0, 60)}"`, from);
  if (value > LOW_64 || value === 0n) {
    throw new IpipError(
      `the interface ID "${oneLine(text).slice(0, 60)}" from ${from} must be the low 64 bits of the CE address, not zero (for example 1234:5678:9abc:def0)`,
    );
  }
  return formatIpv6(value);
}

/** The BR (or HB46PP's CE address, `what`): an IPv6 address, in canonical form. */
export function parseBr(text: string, from: string, what = "the BR"): string {
  return formatIpv6(ipv6Text(text, `${what} "${oneLine(text).slice(0, 60)}"`, from));
}

/** HB46PP's first `ipip` entry (the spec's CE uses the first). */
export function ipipFromHb46pp(entries: readonly Hb46ppIpip[] | null): IpipParameters {
  const first = entries?.[0];
  if (first === undefined) throw new IpipError("HB46PP names ipip in its order but sends no ipip parameters");
  const v4 = parseFixedIpv4(first.ipv4, "hb46pp");
  return {
    ipv4Address: v4.address,
    ipv4PrefixLength: v4.prefixLength,
    br: parseBr(first.ipv6Remote, "hb46pp"),
    ceAddress: parseBr(first.ipv6Local, "hb46pp", "the CE address"),
    interfaceId: null,
    from: "hb46pp",
  };
}

/** What the user gives: --ipv4, --br, --interface-id or the [ipip] table. */
export interface IpipSettings {
  readonly ipv4: string | null;
  readonly br: string | null;
  readonly interfaceId: string | null;
}

const WHERE = {
  ipv4: "--ipv4 or [ipip] ipv4 = … (the fixed address the provider assigned, a.b.c.d or a.b.c.d/len)",
  br: "--br or [ipip] br = … (the provider's BR, the tunnel's far end)",
  interfaceId: "--interface-id or [ipip] interface-id = … (the CE interface ID on the provider's sheet)",
} as const;

/** The parameters from the configuration; each missing one named with where it goes. */
export function ipipFromSettings(s: IpipSettings): IpipParameters {
  const missing = (Object.keys(WHERE) as (keyof typeof WHERE)[]).filter((k) => s[k] === null);
  if (missing.length > 0) {
    throw new IpipError(
      `IPIP needs the fixed IPv4 address, the BR and the interface ID, and HB46PP gave none: give ${missing.map((k) => WHERE[k]).join("; ")}`,
    );
  }
  const v4 = parseFixedIpv4(s.ipv4 ?? "", "configuration");
  return {
    ipv4Address: v4.address,
    ipv4PrefixLength: v4.prefixLength,
    br: parseBr(s.br ?? "", "configuration"),
    ceAddress: null,
    interfaceId: parseInterfaceId(s.interfaceId ?? "", "configuration"),
    from: "configuration",
  };
}

/**
 * The CE address: HB46PP's as given (it must lie in the line's prefix, or the NGN drops what leaves
 * from it), else the first /64 of the prefix with the provider's interface ID.
 */
export function ipipCeAddress(params: IpipParameters, prefix: Ipv6Prefix): string {
  if (params.ceAddress !== null) {
    const value = parseIpv6(params.ceAddress);
    if (!ipv6PrefixContains(prefix, { value, length: 128 })) {
      throw new IpipError(
        `HB46PP's CE address ${params.ceAddress} is not inside this line's prefix ${formatIpv6(prefix.value)}/${prefix.length}: the line's prefix changed since HB46PP answered, ask again`,
      );
    }
    return params.ceAddress;
  }
  const id = parseIpv6(params.interfaceId ?? "::");
  return formatIpv6((prefix.value & ipv6Mask(Math.min(prefix.length, 64))) | id);
}

/** Text for a report: "203.0.113.9/32 via BR 2001:db8::1 (from configuration)". */
export function describeIpip(params: IpipParameters): string {
  return `${params.ipv4Address}/${params.ipv4PrefixLength} via BR ${params.br} (from ${params.from})`;
}
