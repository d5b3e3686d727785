import { MapeError } from "./errors.ts";
import { formatIpv4Prefix, parseIpv4Prefix, type Ipv4Prefix } from "./ipv4.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6, parseIpv6Prefix, type Ipv6Prefix } from "./ipv6.ts";

/** A rule as people and files write it: text prefixes and plain numbers. */
export interface MapRuleSpec {
  ipv6Prefix: string;
  ipv4Prefix: string;
  eaBits: number;
  psidOffset: number;
  psidLength?: number | undefined;
  /** An explicitly provisioned PSID (RFC 7598 S46_PORTPARAMS) for rules whose EA bits carry none. */
  psid?: number | undefined;
  br?: string | undefined;
}

/** A validated MAP rule (RFC 7597 §5): every invariant below holds once makeRule returns. */
export interface MapRule {
  readonly ipv6Prefix: Ipv6Prefix;
  readonly ipv4Prefix: Ipv4Prefix;
  readonly eaBits: number;
  readonly psidOffset: number;
  readonly psidLength: number;
  readonly psid: number | null;
  readonly br: bigint | null;
}

/** RFC 7597 §5.2: the end-user prefix, and so rule prefix + EA bits, is at most a /64. */
export const MAX_END_USER_PREFIX = 64;

function bad(spec: MapRuleSpec, why: string): MapeError {
  return new MapeError("INVALID_RULE", `rule ${spec.ipv6Prefix} → ${spec.ipv4Prefix}: ${why}`);
}

function checkInteger(spec: MapRuleSpec, name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw bad(spec, `${name} ${String(value)} is not a whole number from ${min} to ${max}`);
  }
}

export function makeRule(spec: MapRuleSpec): MapRule {
  let ipv6Prefix: Ipv6Prefix;
  let ipv4Prefix: Ipv4Prefix;
  try {
    ipv6Prefix = parseIpv6Prefix(spec.ipv6Prefix);
    ipv4Prefix = parseIpv4Prefix(spec.ipv4Prefix);
  } catch (err) {
    throw new MapeError("INVALID_RULE", `invalid rule: ${(err as Error).message}`);
  }
  checkInteger(spec, "ea-bits", spec.eaBits, 0, 48);
  checkInteger(spec, "psid-offset", spec.psidOffset, 0, 16);
  const ea = spec.eaBits;
  if (ipv6Prefix.length + ea > MAX_END_USER_PREFIX) {
    throw bad(
      spec,
      `rule prefix /${ipv6Prefix.length} + ${ea} EA bits = /${ipv6Prefix.length + ea} is longer than /64, the longest end-user prefix`,
    );
  }
  const suffixBits = 32 - ipv4Prefix.length;
  const derived = ea - suffixBits;
  let psidLength: number;
  let psid: number | null = null;
  if (spec.psidLength === undefined) {
    psidLength = Math.max(derived, 0);
    if (spec.psid !== undefined) throw bad(spec, "an explicit psid needs an explicit psid-length");
  } else {
    checkInteger(spec, "psid-length", spec.psidLength, 0, 16);
    psidLength = spec.psidLength;
    if (spec.psid !== undefined) {
      if (derived !== 0) {
        throw bad(
          spec,
          `an explicit psid is only valid when the EA bits carry no PSID, but ea-bits ${ea} − (32 − ${ipv4Prefix.length}) = ${derived}`,
        );
      }
      checkInteger(spec, "psid", spec.psid, 0, 2 ** psidLength - 1);
      psid = spec.psid;
    } else if (psidLength !== Math.max(derived, 0)) {
      throw bad(
        spec,
        `psid-length ${psidLength} contradicts ea-bits ${ea} − (32 − ${ipv4Prefix.length}) = ${Math.max(derived, 0)}`,
      );
    }
  }
  if (spec.psidOffset + psidLength > 16) {
    throw bad(spec, `psid-offset ${spec.psidOffset} + psid-length ${psidLength} is more than 16 port bits`);
  }
  let br: bigint | null = null;
  if (spec.br !== undefined) {
    try {
      br = parseIpv6(spec.br);
    } catch (err) {
      throw bad(spec, `br: ${(err as Error).message}`);
    }
    if (br === 0n || br >> 120n === 0xffn) throw bad(spec, `br ${spec.br} is not a unicast address`);
  }
  return { ipv6Prefix, ipv4Prefix, eaBits: ea, psidOffset: spec.psidOffset, psidLength, psid, br };
}

/** The rule back in the form people write, for JSON output and for re-validating with overrides. */
export function ruleSpec(rule: MapRule): MapRuleSpec {
  return {
    ipv6Prefix: formatIpv6Prefix(rule.ipv6Prefix),
    ipv4Prefix: formatIpv4Prefix(rule.ipv4Prefix),
    eaBits: rule.eaBits,
    psidOffset: rule.psidOffset,
    psidLength: rule.psidLength,
    psid: rule.psid ?? undefined,
    br: rule.br === null ? undefined : formatIpv6(rule.br),
  };
}
