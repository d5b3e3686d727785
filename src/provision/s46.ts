import { isMapeError } from "../mape/errors.ts";
import { makeRule, type MapRule, type MapRuleSpec } from "../mape/rule.ts";
import {
  hasBitsAfter,
  ipv4FromBytes,
  ipv4PrefixText,
  ipv6FromBytes,
  ipv6PrefixText,
  maskBits,
  splitPrefix,
  ipv6ToBytes,
  ipv4ToBytes,
} from "./addresses.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { list, once, walkOptions } from "./option-walk.ts";

/** RFC 7598 option codes (IANA "DHCPv6 Option Codes"). */
export const S46 = {
  rule: 89,
  br: 90,
  dmr: 91,
  v4v6Bind: 92,
  portParams: 93,
  contMape: 94,
  contMapt: 95,
  contLw: 96,
} as const;

export const S46_NAMES: Readonly<Record<number, string>> = {
  89: "S46_RULE",
  90: "S46_BR",
  91: "S46_DMR",
  92: "S46_V4V6BIND",
  93: "S46_PORTPARAMS",
  94: "OPTION_S46_CONT_MAPE",
  95: "OPTION_S46_CONT_MAPT",
  96: "OPTION_S46_CONT_LW",
};

/** RFC 7597 §5.1: without S46_PORTPARAMS the PSID offset is 6 (ports 0–1023 excluded). */
export const DEFAULT_PSID_OFFSET = 6;

export interface PortParams {
  readonly offset: number;
  readonly psidLength: number;
  /** The PSID as a number (0 … 2^psidLength − 1), already shifted out of its left-aligned field. */
  readonly psid: number;
}

export interface S46Rule {
  /** The F flag: this rule is also a Forwarding Mapping Rule (mesh), not only the Basic Mapping Rule. */
  readonly fmr: boolean;
  readonly eaLength: number;
  /** "a.b.c.d/len", with bits after len cleared. */
  readonly ipv4Prefix: string;
  /** "addr/len", with bits after len cleared. */
  readonly ipv6Prefix: string;
  readonly portParams: PortParams | null;
  /** Sender bugs we tolerated, e.g. bits set after a prefix length (RFC 7598 says receivers ignore them). */
  readonly notes: readonly string[];
}

export interface S46MapeContainer {
  readonly rules: readonly S46Rule[];
  readonly brs: readonly string[];
  /** Sub-option codes this container may not carry, reported rather than failing the reply. */
  readonly ignored: readonly number[];
}

export interface S46MaptContainer {
  readonly rules: readonly S46Rule[];
  readonly dmr: string | null;
  readonly ignored: readonly number[];
}

export interface S46Binding {
  readonly ipv4Address: string;
  readonly bindPrefix6: string;
  readonly portParams: PortParams | null;
}

export interface S46LwContainer {
  readonly brs: readonly string[];
  readonly binding: S46Binding | null;
  readonly ignored: readonly number[];
}

function s46Name(code: number): string {
  return S46_NAMES[code] ?? `option ${code}`;
}

function prefixLengthOf(text: string): number {
  return Number(text.slice(text.indexOf("/") + 1));
}

function prefixBytes(length: number): number {
  return Math.ceil(length / 8);
}

function decodePortParams(data: Uint8Array, field: string): PortParams {
  const r = new ByteReader(data, field);
  const offset = r.u8("offset");
  const psidLength = r.u8("PSID-len");
  const raw = r.u16("PSID");
  r.end("");
  if (offset > 15) throw r.fail("offset", `${offset} is more than 15 bits`);
  if (psidLength > 16) throw r.fail("PSID-len", `${psidLength} is more than 16 bits`);
  if (offset + psidLength > 16) {
    throw r.fail("PSID-len", `offset ${offset} + PSID-len ${psidLength} is more than the 16 bits of a port`);
  }
  // RFC 7598 §4.5: with PSID-len 0 the PSID field is ignored (Kea reads it the same way).
  if (psidLength === 0) return { offset, psidLength, psid: 0 };
  // Otherwise the PSID is left-aligned and the bits after PSID-len are zero padding. A right-aligned
  // value (0x0041 for PSID 0x41/8) is the classic sender bug and would give wrong ports.
  const padding = psidLength === 16 ? 0 : raw & (0xffff >>> psidLength);
  if (padding !== 0) {
    const leftAligned = ((raw << (16 - psidLength)) & 0xffff).toString(16).padStart(4, "0");
    throw r.fail(
      "PSID",
      `0x${raw.toString(16).padStart(4, "0")} has bits set after the first ${psidLength} (PSID-len): the PSID is left-aligned in 16 bits (RFC 7598 §4.5); a PSID of ${raw} right-aligned would be 0x${leftAligned} left-aligned`,
    );
  }
  return { offset, psidLength, psid: raw >>> (16 - psidLength) };
}

/** Rules and bindings may carry S46_PORTPARAMS once (RFC 7598 §4.5); other sub-options are ignored. */
const RULE_OPTIONS = { portParams: once(S46.portParams, decodePortParams) };

function decodeRule(data: Uint8Array, field: string): S46Rule {
  const r = new ByteReader(data, field);
  const flags = r.u8("flags");
  const eaLength = r.u8("ea-len");
  const prefix4Length = r.u8("prefix4-len");
  const ipv4 = r.bytes(4, "ipv4-prefix");
  const prefix6Length = r.u8("prefix6-len");
  if (prefix4Length > 32) throw r.fail("prefix4-len", `${prefix4Length} is more than 32`);
  if (prefix6Length > 128) throw r.fail("prefix6-len", `${prefix6Length} is more than 128`);
  const ipv6 = r.bytes(prefixBytes(prefix6Length), "ipv6-prefix");
  const notes: string[] = [];
  if (hasBitsAfter(ipv4, prefix4Length, 4))
    notes.push(`ipv4-prefix has bits set after /${prefix4Length}; ignored`);
  if (hasBitsAfter(ipv6, prefix6Length, ipv6.length))
    notes.push(`ipv6-prefix has bits set after /${prefix6Length}; ignored`);
  const { portParams } = walkOptions(r.rest(), { field, nameOf: s46Name }, RULE_OPTIONS).values;
  return {
    fmr: (flags & 1) === 1,
    eaLength,
    ipv4Prefix: ipv4PrefixText(ipv4, prefix4Length),
    ipv6Prefix: ipv6PrefixText(ipv6, prefix6Length),
    portParams,
    notes,
  };
}

function decodeAddress(data: Uint8Array, field: string): string {
  const r = new ByteReader(data, field);
  const bytes = r.bytes(16, "address");
  r.end("");
  return ipv6FromBytes(bytes);
}

function decodeDmr(data: Uint8Array, field: string): string {
  const r = new ByteReader(data, field);
  const length = r.u8("dmr-prefix6-len");
  if (length > 128) throw r.fail("dmr-prefix6-len", `${length} is more than 128`);
  const bytes = r.bytes(prefixBytes(length), "dmr-ipv6-prefix");
  r.end("");
  return ipv6PrefixText(bytes, length);
}

function decodeBinding(data: Uint8Array, field: string): S46Binding {
  const r = new ByteReader(data, field);
  const ipv4 = r.bytes(4, "ipv4-address");
  const length = r.u8("bindprefix6-len");
  if (length > 128) throw r.fail("bindprefix6-len", `${length} is more than 128`);
  const prefix = r.bytes(prefixBytes(length), "bind-ipv6-prefix");
  const { portParams } = walkOptions(r.rest(), { field, nameOf: s46Name }, RULE_OPTIONS).values;
  return { ipv4Address: ipv4FromBytes(ipv4), bindPrefix6: ipv6PrefixText(prefix, length), portParams };
}

const MAPE_OPTIONS = { rules: list(S46.rule, decodeRule), brs: list(S46.br, decodeAddress) };
const MAPT_OPTIONS = { rules: list(S46.rule, decodeRule), dmr: once(S46.dmr, decodeDmr) };
const LW_OPTIONS = { brs: list(S46.br, decodeAddress), binding: once(S46.v4v6Bind, decodeBinding) };

export function decodeMapeContainer(data: Uint8Array, field = "OPTION_S46_CONT_MAPE"): S46MapeContainer {
  const { values, ignored } = walkOptions(data, { field, nameOf: s46Name }, MAPE_OPTIONS);
  return { ...values, ignored };
}

export function decodeMaptContainer(data: Uint8Array, field = "OPTION_S46_CONT_MAPT"): S46MaptContainer {
  const { values, ignored } = walkOptions(data, { field, nameOf: s46Name }, MAPT_OPTIONS);
  return { ...values, ignored };
}

export function decodeLwContainer(data: Uint8Array, field = "OPTION_S46_CONT_LW"): S46LwContainer {
  const { values, ignored } = walkOptions(data, { field, nameOf: s46Name }, LW_OPTIONS);
  return { ...values, ignored };
}

/** A decoded rule as the core's rule spec: explicit port parameters win over the RFC 7597 default offset. */
export function s46RuleSpec(rule: S46Rule, br: string | undefined): MapRuleSpec {
  const spec: MapRuleSpec = {
    ipv6Prefix: rule.ipv6Prefix,
    ipv4Prefix: rule.ipv4Prefix,
    eaBits: rule.eaLength,
    psidOffset: rule.portParams?.offset ?? DEFAULT_PSID_OFFSET,
    br,
  };
  if (rule.portParams !== null && rule.portParams.psidLength > 0) {
    const derived = rule.eaLength - (32 - prefixLengthOf(rule.ipv4Prefix));
    spec.psidLength = rule.portParams.psidLength;
    // With EA bits that already carry the PSID, S46_PORTPARAMS only restates its length; an explicit
    // PSID is for rules whose EA bits hold none (RFC 7597 §5.1, e.g. a /32 IPv4 prefix).
    if (derived <= 0) spec.psid = rule.portParams.psid;
  }
  return spec;
}

/**
 * The MAP-E container as validated core rules, each carrying the first BR (RFC 7598 §4.2: a MAP-E
 * container has at least one S46_RULE and one S46_BR). Throws DecodeError naming the rule at fault.
 */
export function mapeRulesFromS46(container: S46MapeContainer): MapRule[] {
  const field = "OPTION_S46_CONT_MAPE";
  if (container.rules.length === 0) throw new DecodeError("dhcpv6", field, "carries no S46_RULE");
  const br = container.brs[0];
  if (br === undefined)
    throw new DecodeError("dhcpv6", field, "carries no S46_BR (a MAP-E container needs one)");
  return container.rules.map((rule, index) => {
    try {
      return makeRule(s46RuleSpec(rule, br));
    } catch (err) {
      if (!isMapeError(err)) throw err;
      throw new DecodeError("dhcpv6", `${field}.S46_RULE[${index}]`, err.message);
    }
  });
}

export interface S46RuleInput {
  readonly fmr?: boolean;
  readonly eaLength: number;
  readonly ipv4Prefix: string;
  readonly ipv6Prefix: string;
  readonly portParams?: PortParams;
  /** Tests set this to write a PSID right-aligned, as a buggy server would. */
  readonly rightAlignedPsid?: boolean;
}

export function encodePortParams(params: PortParams, rightAligned = false): Uint8Array {
  const field =
    rightAligned || params.psidLength === 0
      ? params.psid
      : (params.psid << (16 - params.psidLength)) & 0xffff;
  return new ByteWriter().u8(params.offset).u8(params.psidLength).u16(field).toBytes();
}

export function encodeS46Rule(rule: S46RuleInput): Uint8Array {
  const v4 = splitPrefix(rule.ipv4Prefix);
  const v6 = splitPrefix(rule.ipv6Prefix);
  const w = new ByteWriter()
    .u8(rule.fmr === true ? 1 : 0)
    .u8(rule.eaLength)
    .u8(v4.length)
    .bytes(v4.bytes)
    .u8(v6.length)
    .bytes(maskBits(v6.bytes, v6.length, prefixBytes(v6.length)));
  if (rule.portParams !== undefined)
    w.option(S46.portParams, encodePortParams(rule.portParams, rule.rightAlignedPsid));
  return w.toBytes();
}

/** The data of OPTION_S46_CONT_MAPE, for fixtures and for the fake servers of the unit tests. */
export function encodeMapeContainer(rules: readonly S46RuleInput[], brs: readonly string[]): Uint8Array {
  const w = new ByteWriter();
  for (const rule of rules) w.option(S46.rule, encodeS46Rule(rule));
  for (const br of brs) w.option(S46.br, ipv6ToBytes(br));
  return w.toBytes();
}

export function encodeMaptContainer(rules: readonly S46RuleInput[], dmr: string): Uint8Array {
  const w = new ByteWriter();
  for (const rule of rules) w.option(S46.rule, encodeS46Rule(rule));
  const p = splitPrefix(dmr);
  w.option(
    S46.dmr,
    new ByteWriter()
      .u8(p.length)
      .bytes(maskBits(p.bytes, p.length, prefixBytes(p.length)))
      .toBytes(),
  );
  return w.toBytes();
}

export function encodeLwContainer(
  br: string,
  binding: { ipv4Address: string; bindPrefix6: string; portParams?: PortParams } | null,
): Uint8Array {
  const w = new ByteWriter().option(S46.br, ipv6ToBytes(br));
  if (binding !== null) {
    const p = splitPrefix(binding.bindPrefix6);
    const b = new ByteWriter()
      .bytes(ipv4ToBytes(binding.ipv4Address))
      .u8(p.length)
      .bytes(maskBits(p.bytes, p.length, prefixBytes(p.length)));
    if (binding.portParams !== undefined) b.option(S46.portParams, encodePortParams(binding.portParams));
    w.option(S46.v4v6Bind, b.toBytes());
  }
  return w.toBytes();
}
