import { MapeError } from "./errors.ts";
import { formatIpv4, ipv4Mask } from "./ipv4.ts";
import { formatIpv6Prefix, ipv6Bits, ipv6Mask, ipv6PrefixContains, type Ipv6Prefix } from "./ipv6.ts";
import { makeInterfaceId, readInterfaceId, type InterfaceIdLayout } from "./interface-id.ts";
import { portCount, portSets, psidOfPort, type PortRange } from "./port-set.ts";
import { MAX_END_USER_PREFIX, type MapRule } from "./rule.ts";

/** Everything a CE needs, derived from its end-user prefix and its basic mapping rule. */
export interface MapeParameters {
  readonly endUserPrefix: Ipv6Prefix;
  readonly rule: MapRule;
  /** The CE's IPv4 address; when the EA bits are shorter than the IPv4 suffix, the first address of a shared prefix. */
  readonly ipv4Address: number;
  /** 32, or shorter when the CE gets an IPv4 prefix rather than an address (RFC 7597 §5.2). */
  readonly ipv4PrefixLength: number;
  readonly psid: number;
  readonly portSets: readonly PortRange[];
  readonly portCount: number;
  readonly ceAddress: bigint;
  readonly interfaceId: InterfaceIdLayout;
  /** Findings that do not stop the computation but that a user must hear about. */
  readonly warnings: readonly string[];
}

function eaOf(rule: MapRule, ipv4: number, psid: number): bigint {
  const suffixBits = 32 - rule.ipv4Prefix.length;
  const suffix = BigInt((ipv4 & ~ipv4Mask(rule.ipv4Prefix.length)) >>> 0);
  if (rule.eaBits >= suffixBits) {
    const eaPsidBits = rule.eaBits - suffixBits;
    return (suffix << BigInt(eaPsidBits)) | (eaPsidBits > 0 ? BigInt(psid) : 0n);
  }
  return suffix >> BigInt(suffixBits - rule.eaBits);
}

function ceFromEa(
  rule: MapRule,
  endUserPrefix: bigint,
  ipv4: number,
  psid: number,
  layout: InterfaceIdLayout,
): bigint {
  const network = endUserPrefix & ipv6Mask(MAX_END_USER_PREFIX);
  return network | makeInterfaceId(layout, ipv4, psid);
}

/**
 * RFC 7597 §5.2: the EA bits of the end-user prefix give the IPv4 suffix and the PSID; the CE address
 * is the end-user prefix with subnet ID 0 and the chosen interface ID.
 */
export function computeParameters(
  endUserPrefix: Ipv6Prefix,
  rule: MapRule,
  layout: InterfaceIdLayout,
): MapeParameters {
  const p = rule.ipv6Prefix.length;
  const o = rule.eaBits;
  const text = formatIpv6Prefix(endUserPrefix);
  if (endUserPrefix.length > MAX_END_USER_PREFIX) {
    throw new MapeError(
      "PREFIX_TOO_LONG",
      `${text} is longer than /64: give the delegated prefix or the /64 of the WAN, not a single address`,
    );
  }
  if (
    !ipv6PrefixContains(rule.ipv6Prefix, {
      value: endUserPrefix.value,
      length: Math.max(p, endUserPrefix.length),
    })
  ) {
    throw new MapeError(
      "NO_MATCHING_RULE",
      `${text} is not inside the rule prefix ${formatIpv6Prefix(rule.ipv6Prefix)}`,
    );
  }
  if (endUserPrefix.length < p + o) {
    throw new MapeError(
      "PREFIX_TOO_SHORT",
      `${text} is shorter than the rule's /${p} + ${o} EA bits = /${p + o}: give the prefix delegated to this line (a /${p + o} or longer)`,
    );
  }
  const ea = ipv6Bits(endUserPrefix.value, p, o);
  const suffixBits = 32 - rule.ipv4Prefix.length;
  const warnings: string[] = [];
  let ipv4Address: number;
  let ipv4PrefixLength = 32;
  let psid = 0;
  if (o >= suffixBits) {
    const eaPsidBits = o - suffixBits;
    ipv4Address = (rule.ipv4Prefix.value | Number(ea >> BigInt(eaPsidBits))) >>> 0;
    psid = rule.psid ?? Number(ea & ((1n << BigInt(eaPsidBits)) - 1n));
  } else {
    ipv4PrefixLength = rule.ipv4Prefix.length + o;
    ipv4Address = (rule.ipv4Prefix.value | Number(ea << BigInt(suffixBits - o))) >>> 0;
    warnings.push(
      `the EA bits (${o}) are shorter than the IPv4 suffix (${suffixBits}): this CE gets the shared IPv4 prefix ${formatIpv4(ipv4Address)}/${ipv4PrefixLength}, not one address`,
    );
  }
  if (
    endUserPrefix.length > p + o &&
    ipv6Bits(endUserPrefix.value, p + o, endUserPrefix.length - p - o) !== 0n
  ) {
    warnings.push(
      `${text} has a non-zero subnet ID after /${p + o}: the BR sends to the CE address of subnet 0 of that /${p + o}, so replies will not reach this prefix (another router on the line probably holds the /${p + o})`,
    );
  }
  const sets = portSets(rule.psidOffset, rule.psidLength, psid);
  return {
    endUserPrefix,
    rule,
    ipv4Address,
    ipv4PrefixLength,
    psid,
    portSets: sets,
    portCount: portCount(sets),
    ceAddress: ceFromEa(rule, endUserPrefix.value, ipv4Address, psid, layout),
    interfaceId: layout,
    warnings,
  };
}

/**
 * The BR's direction (RFC 7597 §5.3, §7.2): the CE address an IPv4 address and port map to, or null
 * when the address is not in the rule's IPv4 prefix.
 */
export function ceAddressForIpv4Port(
  rule: MapRule,
  ipv4: number,
  port: number,
  layout: InterfaceIdLayout,
): bigint | null {
  if ((ipv4 & ipv4Mask(rule.ipv4Prefix.length)) >>> 0 !== rule.ipv4Prefix.value) return null;
  const psid = rule.psid ?? psidOfPort(port, rule.psidOffset, rule.psidLength);
  return ceAddressForIpv4Psid(rule, ipv4, psid, layout);
}

export function ceAddressForIpv4Psid(
  rule: MapRule,
  ipv4: number,
  psid: number,
  layout: InterfaceIdLayout,
): bigint {
  const p = rule.ipv6Prefix.length;
  const o = rule.eaBits;
  const prefix = rule.ipv6Prefix.value | (o === 0 ? 0n : eaOf(rule, ipv4, psid) << BigInt(128 - p - o));
  const suffixBits = 32 - rule.ipv4Prefix.length;
  const iidIpv4 = o >= suffixBits ? ipv4 : (ipv4 & ipv4Mask(rule.ipv4Prefix.length + o)) >>> 0;
  return ceFromEa(rule, prefix, iidIpv4, o >= suffixBits ? psid : 0, layout);
}

/**
 * What a strict BR checks on a packet from a CE: the source address must be a CE address of this
 * rule, its interface ID must agree with its EA bits. Returns the CE's IPv4 and PSID, or null.
 */
export function readCeAddress(
  rule: MapRule,
  address: bigint,
  layout: InterfaceIdLayout,
): { ipv4: number; psid: number } | null {
  const p = rule.ipv6Prefix.length;
  if ((address & ipv6Mask(p)) !== rule.ipv6Prefix.value) return null;
  const fields = readInterfaceId(layout, address & ((1n << 64n) - 1n));
  if (fields === null) return null;
  if ((fields.ipv4 & ipv4Mask(rule.ipv4Prefix.length)) >>> 0 !== rule.ipv4Prefix.value) return null;
  if (fields.psid >= 2 ** rule.psidLength) return null;
  if (rule.psid !== null && fields.psid !== rule.psid) return null;
  // A BR rebuilds the whole address from IPv4 and PSID (subnet ID 0), so every bit must agree.
  return address === ceAddressForIpv4Psid(rule, fields.ipv4, fields.psid, layout) ? fields : null;
}
