import { decodeAftrName, OPTION_AFTR_NAME } from "./aftr-name.ts";
import { ipv6FromBytes, ipv6PrefixText, ipv6ToBytes, splitPrefix } from "./addresses.ts";
import { ByteReader, ByteWriter, hex } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { last, list, once, walkOptions, type RawOption } from "./option-walk.ts";
import {
  decodeLwContainer,
  decodeMapeContainer,
  decodeMaptContainer,
  S46,
  S46_NAMES,
  type S46LwContainer,
  type S46MapeContainer,
  type S46MaptContainer,
} from "./s46.ts";

/** RFC 8415 §7.3 message types a client sends or receives. */
export const MessageType = {
  solicit: 1,
  advertise: 2,
  request: 3,
  confirm: 4,
  renew: 5,
  rebind: 6,
  reply: 7,
  release: 8,
  decline: 9,
  reconfigure: 10,
  informationRequest: 11,
} as const;

const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  1: "Solicit",
  2: "Advertise",
  3: "Request",
  4: "Confirm",
  5: "Renew",
  6: "Rebind",
  7: "Reply",
  8: "Release",
  9: "Decline",
  10: "Reconfigure",
  11: "Information-request",
};

export function messageName(type: number): string {
  return MESSAGE_NAMES[type] ?? `message type ${type}`;
}

/** RFC 8415 §21 option codes, plus those of RFC 3646, 6334 and 7598 a CE cares about. */
export const Option = {
  clientId: 1,
  serverId: 2,
  iaNa: 3,
  iaTa: 4,
  iaAddr: 5,
  oro: 6,
  preference: 7,
  elapsedTime: 8,
  statusCode: 13,
  rapidCommit: 14,
  dnsServers: 23,
  domainList: 24,
  iaPd: 25,
  iaPrefix: 26,
  informationRefreshTime: 32,
  solMaxRt: 82,
  infMaxRt: 83,
  aftrName: OPTION_AFTR_NAME,
  s46ContMape: S46.contMape,
  s46ContMapt: S46.contMapt,
  s46ContLw: S46.contLw,
} as const;

const OPTION_NAMES: Readonly<Record<number, string>> = {
  1: "OPTION_CLIENTID",
  2: "OPTION_SERVERID",
  3: "OPTION_IA_NA",
  4: "OPTION_IA_TA",
  5: "OPTION_IAADDR",
  6: "OPTION_ORO",
  7: "OPTION_PREFERENCE",
  8: "OPTION_ELAPSED_TIME",
  13: "OPTION_STATUS_CODE",
  14: "OPTION_RAPID_COMMIT",
  23: "OPTION_DNS_SERVERS",
  24: "OPTION_DOMAIN_LIST",
  25: "OPTION_IA_PD",
  26: "OPTION_IAPREFIX",
  32: "OPTION_INFORMATION_REFRESH_TIME",
  64: "OPTION_AFTR_NAME",
  82: "OPTION_SOL_MAX_RT",
  83: "OPTION_INF_MAX_RT",
  ...S46_NAMES,
};

export function optionName(code: number): string {
  return OPTION_NAMES[code] ?? `option ${code}`;
}

/** RFC 8415 §21.13 status codes. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  0: "Success",
  1: "UnspecFail",
  2: "NoAddrsAvail",
  3: "NoBinding",
  4: "NotOnLink",
  5: "UseMulticast",
  6: "NoPrefixAvail",
};

export type { RawOption } from "./option-walk.ts";

export interface Duid {
  /** 1 DUID-LLT, 2 DUID-EN, 3 DUID-LL, 4 DUID-UUID (RFC 8415 §11). */
  readonly type: number;
  readonly bytes: Uint8Array;
  /** The link-layer address of a DUID-LL or DUID-LLT, as aa:bb:cc:…; null for other types. */
  readonly linkLayer: string | null;
}

export interface StatusCode {
  readonly code: number;
  readonly name: string;
  readonly message: string;
}

export interface IaPrefix {
  readonly prefix: string;
  readonly preferredLifetime: number;
  readonly validLifetime: number;
  readonly status: StatusCode | null;
}

export interface IaPd {
  readonly iaid: number;
  readonly t1: number;
  readonly t2: number;
  readonly prefixes: readonly IaPrefix[];
  readonly status: StatusCode | null;
}

/** A decoded message: the raw options in order, plus the ones a CE uses, each fully validated. */
export interface Dhcpv6Message {
  readonly type: number;
  readonly transactionId: number;
  readonly options: readonly RawOption[];
  readonly clientId: Duid | null;
  readonly serverId: Duid | null;
  readonly oro: readonly number[] | null;
  readonly preference: number | null;
  /** Hundredths of a second (RFC 8415 §21.9). */
  readonly elapsedTime: number | null;
  readonly rapidCommit: boolean;
  readonly status: StatusCode | null;
  readonly iaPd: readonly IaPd[];
  readonly dnsServers: readonly string[];
  readonly informationRefreshTime: number | null;
  readonly solMaxRt: number | null;
  readonly infMaxRt: number | null;
  /** RFC 6334: the DS-Lite AFTR's name, lower case. */
  readonly aftrName: string | null;
  readonly mapE: S46MapeContainer | null;
  readonly mapT: S46MaptContainer | null;
  readonly lw4o6: S46LwContainer | null;
}

/** RFC 8415 §11.1: a DUID is 2 bytes of type and at most 128 bytes of identifier. */
const MAX_DUID = 130;

function decodeDuid(data: Uint8Array, field: string): Duid {
  const r = new ByteReader(data, field);
  if (data.length < 3 || data.length > MAX_DUID) {
    throw r.fail("", `a DUID is 3 to ${MAX_DUID} bytes, this one is ${data.length}`);
  }
  const type = r.u16("DUID-type");
  let linkLayer: string | null = null;
  if (type === 1 || type === 3) {
    r.u16("hardware-type");
    if (type === 1) r.u32("time");
    const address = r.rest();
    if (address.length === 0) throw r.fail("link-layer-address", "is empty");
    linkLayer = Array.from(address, (b) => b.toString(16).padStart(2, "0")).join(":");
  } else if (type === 2) {
    r.u32("enterprise-number");
    if (r.rest().length === 0) throw r.fail("identifier", "is empty");
  } else if (type === 4) {
    r.bytes(16, "UUID");
    r.end("");
  }
  return { type, bytes: data, linkLayer };
}

function decodeStatus(data: Uint8Array, field: string): StatusCode {
  const r = new ByteReader(data, field);
  const code = r.u16("status-code");
  // Servers put free text here; invalid UTF-8 is shown with replacement characters, not rejected.
  const message = new TextDecoder("utf-8", { fatal: false }).decode(r.rest());
  return { code, name: STATUS_NAMES[code] ?? `status ${code}`, message };
}

function fixedU32(data: Uint8Array, field: string): number {
  const r = new ByteReader(data, field);
  const value = r.u32("value");
  r.end("");
  return value;
}

// A repeated status code inside an IA is not forbidden by RFC 8415: the last one is kept.
const IAPREFIX_OPTIONS = { status: last(Option.statusCode, decodeStatus) };
const IA_PD_OPTIONS = {
  prefixes: list(Option.iaPrefix, decodeIaPrefix),
  status: last(Option.statusCode, decodeStatus),
};

function decodeIaPrefix(data: Uint8Array, field: string): IaPrefix {
  const r = new ByteReader(data, field);
  const preferredLifetime = r.u32("preferred-lifetime");
  const validLifetime = r.u32("valid-lifetime");
  const length = r.u8("prefix-length");
  if (length > 128) throw r.fail("prefix-length", `${length} is more than 128`);
  const prefix = ipv6PrefixText(r.bytes(16, "IPv6-prefix"), length);
  const { status } = walkOptions(r.rest(), { field, nameOf: optionName }, IAPREFIX_OPTIONS).values;
  return { prefix, preferredLifetime, validLifetime, status };
}

function decodeIaPd(data: Uint8Array, field: string): IaPd {
  const r = new ByteReader(data, field);
  const iaid = r.u32("IAID");
  const t1 = r.u32("T1");
  const t2 = r.u32("T2");
  const { prefixes, status } = walkOptions(r.rest(), { field, nameOf: optionName }, IA_PD_OPTIONS).values;
  return { iaid, t1, t2, prefixes, status };
}

function exactLength(data: Uint8Array, length: number, field: string): void {
  if (data.length !== length) {
    throw new DecodeError("dhcpv6", field, `option-len is ${data.length}, must be ${length}`);
  }
}

function decodeOro(data: Uint8Array, field: string): number[] {
  if (data.length % 2 !== 0) throw new DecodeError("dhcpv6", field, `option-len ${data.length} is odd`);
  const r = new ByteReader(data, field);
  const codes: number[] = [];
  while (r.remaining > 0) codes.push(r.u16("requested-option-code"));
  return codes;
}

function decodePreference(data: Uint8Array, field: string): number {
  exactLength(data, 1, field);
  return data[0] ?? 0;
}

function decodeElapsedTime(data: Uint8Array, field: string): number {
  exactLength(data, 2, field);
  return new ByteReader(data, field).u16("elapsed-time");
}

function decodeRapidCommit(data: Uint8Array, field: string): true {
  exactLength(data, 0, field);
  return true;
}

function decodeDnsServers(data: Uint8Array, field: string): string[] {
  if (data.length % 16 !== 0) {
    throw new DecodeError("dhcpv6", field, `option-len ${data.length} is not a multiple of 16`);
  }
  const r = new ByteReader(data, field);
  const servers: string[] = [];
  while (r.remaining > 0) servers.push(ipv6FromBytes(r.bytes(16, "DNS-recursive-name-server")));
  return servers;
}

/** The top level of a message: RFC 8415 §21 allows each of these at most once, except IA_PD. */
const MESSAGE_OPTIONS = {
  clientId: once(Option.clientId, decodeDuid),
  serverId: once(Option.serverId, decodeDuid),
  oro: once(Option.oro, decodeOro),
  preference: once(Option.preference, decodePreference),
  elapsedTime: once(Option.elapsedTime, decodeElapsedTime),
  rapidCommit: once(Option.rapidCommit, decodeRapidCommit),
  status: once(Option.statusCode, decodeStatus),
  iaPd: list(Option.iaPd, decodeIaPd),
  dnsServers: once(Option.dnsServers, decodeDnsServers),
  informationRefreshTime: once(Option.informationRefreshTime, fixedU32),
  solMaxRt: once(Option.solMaxRt, fixedU32),
  infMaxRt: once(Option.infMaxRt, fixedU32),
  aftrName: once(Option.aftrName, decodeAftrName),
  mapE: once(S46.contMape, decodeMapeContainer),
  mapT: once(S46.contMapt, decodeMaptContainer),
  lw4o6: once(S46.contLw, decodeLwContainer),
};

/**
 * Decodes a client/server message (RFC 8415 §8). Every option a CE uses is decoded and checked
 * here, so a message that decodes is whole: there is no partly trusted result. Anything wrong is a
 * DecodeError naming the option and field.
 */
export function decodeMessage(bytes: Uint8Array): Dhcpv6Message {
  const r = new ByteReader(bytes, "message");
  const type = r.u8("msg-type");
  if (type < 1 || type > 11) {
    throw r.fail("msg-type", `${type} is not a client/server message (1–11; relay messages are 12 and 13)`);
  }
  const transactionId = r.u24("transaction-id");
  const where = { field: "message", nameOf: optionName, prefix: "" };
  const { values, options } = walkOptions(r.rest(), where, MESSAGE_OPTIONS);
  return {
    type,
    transactionId,
    options,
    ...values,
    rapidCommit: values.rapidCommit ?? false,
    dnsServers: values.dnsServers ?? [],
  };
}

/** The transaction id of a datagram without decoding the rest: lets a client drop others' replies cheaply. */
export function peekTransactionId(bytes: Uint8Array): number | null {
  if (bytes.length < 4) return null;
  return ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
}

export function encodeMessage(
  type: number,
  transactionId: number,
  options: readonly RawOption[],
): Uint8Array {
  const w = new ByteWriter().u8(type).u24(transactionId & 0xffffff);
  for (const option of options) w.option(option.code, option.data);
  return w.toBytes();
}

/** DUID-LL (RFC 8415 §11.4) from an Ethernet MAC "aa:bb:cc:dd:ee:ff": stable as long as the NIC is. */
export function duidLl(mac: string): Uint8Array {
  const octets = mac.split(":").map((h) => parseInt(h, 16));
  if (octets.length !== 6 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new RangeError(`"${mac}" is not an Ethernet MAC address`);
  }
  return new ByteWriter().u16(3).u16(1).bytes(Uint8Array.from(octets)).toBytes();
}

/** DUID-LLT (RFC 8415 §11.2); time is seconds since 2000-01-01 UTC. */
export function duidLlt(mac: string, time: number): Uint8Array {
  const ll = duidLl(mac);
  return new ByteWriter().u16(1).u16(1).u32(time).bytes(ll.subarray(4)).toBytes();
}

export const options = {
  clientId: (duid: Uint8Array): RawOption => ({ code: Option.clientId, data: duid }),
  serverId: (duid: Uint8Array): RawOption => ({ code: Option.serverId, data: duid }),
  oro: (codes: readonly number[]): RawOption => {
    const w = new ByteWriter();
    for (const c of codes) w.u16(c);
    return { code: Option.oro, data: w.toBytes() };
  },
  /** Hundredths of a second, saturating at 0xffff as RFC 8415 §21.9 asks. */
  elapsedTime: (centiseconds: number): RawOption => ({
    code: Option.elapsedTime,
    data: new ByteWriter().u16(Math.min(Math.max(Math.round(centiseconds), 0), 0xffff)).toBytes(),
  }),
  rapidCommit: (): RawOption => ({ code: Option.rapidCommit, data: new Uint8Array(0) }),
  preference: (value: number): RawOption => ({ code: Option.preference, data: Uint8Array.of(value) }),
  status: (code: number, message: string): RawOption => ({
    code: Option.statusCode,
    data: new ByteWriter().u16(code).bytes(new TextEncoder().encode(message)).toBytes(),
  }),
  dnsServers: (servers: readonly string[]): RawOption => {
    const w = new ByteWriter();
    for (const s of servers) w.bytes(ipv6ToBytes(s));
    return { code: Option.dnsServers, data: w.toBytes() };
  },
  /** An IA_PD; a client sends it empty to ask for a prefix, a server with IAPREFIX options. */
  iaPd: (
    iaid: number,
    t1: number,
    t2: number,
    prefixes: readonly { prefix: string; preferred: number; valid: number }[] = [],
  ): RawOption => {
    const w = new ByteWriter().u32(iaid).u32(t1).u32(t2);
    for (const p of prefixes) {
      const { bytes, length } = splitPrefix(p.prefix);
      w.option(
        Option.iaPrefix,
        new ByteWriter().u32(p.preferred).u32(p.valid).u8(length).bytes(bytes).toBytes(),
      );
    }
    return { code: Option.iaPd, data: w.toBytes() };
  },
  raw: (code: number, data: Uint8Array): RawOption => ({ code, data }),
};

/** Short text for logs: "Reply xid 0x1a2b3c from 00:03:00:01:…" without decoding twice. */
export function describeMessage(message: Dhcpv6Message): string {
  const server = message.serverId === null ? "" : ` from server ${hex(message.serverId.bytes)}`;
  return `${messageName(message.type)} xid 0x${message.transactionId.toString(16).padStart(6, "0")}${server}`;
}
