import type { MapRule } from "../mape/rule.ts";
import { type Dhcpv6Message, type IaPrefix, Option } from "./dhcpv6.ts";
import {
  initialDelay,
  runExchange,
  type Clock,
  type Dhcpv6Transport,
  type ExchangeKind,
  type ExchangeResult,
} from "./dhcpv6-exchange.ts";
import { OPTION_AFTR_NAME } from "./aftr-name.ts";
import { isDecodeError } from "./errors.ts";
import { mapeRulesFromS46, S46 } from "./s46.ts";

export type Dhcpv6OpenResult =
  | {
      readonly ok: true;
      readonly transport: Dhcpv6Transport;
      readonly duid: Uint8Array;
      readonly bound: string;
    }
  | {
      readonly ok: false;
      readonly status: "port-in-use" | "no-interface" | "no-permission";
      readonly message: string;
    };

/** The host side of the DHCPv6 source: a socket on the WAN's port 546, a clock and randomness. */
export interface Dhcpv6Io {
  open(): Promise<Dhcpv6OpenResult>;
  readonly clock: Clock;
  readonly random: () => number;
}

export interface Dhcpv6QueryOptions {
  readonly kind?: ExchangeKind;
  /** Bound on the whole exchange; RFC 8415 would retry an Information-request for ever. */
  readonly maxDurationMs?: number;
  /** Skip RFC 8415's initial random delay (0–1 s), e.g. in tests. */
  readonly noInitialDelay?: boolean;
}

/** RFC 8415 §7.6 IRT_DEFAULT: refresh Information-request data daily when the server names no time. */
export const IRT_DEFAULT_SECONDS = 86400;

export type Dhcpv6Status =
  | "ok"
  | "no-map-e"
  | "not-map-e"
  | "no-answer"
  | "malformed"
  | "server-status"
  | "port-in-use"
  | "no-permission"
  | "no-interface";

export interface Dhcpv6Outcome {
  readonly status: Dhcpv6Status;
  readonly message: string;
  readonly rules: readonly MapRule[];
  /** Every S46_BR of the MAP-E container; rules carry the first. */
  readonly brs: readonly string[];
  readonly fmr: readonly boolean[];
  readonly exchange: ExchangeResult | null;
  readonly reply: Dhcpv6Message | null;
  /** Recursive DNS servers from the same answer (RFC 3646), the line's own resolvers for HB46PP. */
  readonly dnsServers: readonly string[];
  /** RFC 6334 OPTION_AFTR_NAME: the line's DS-Lite AFTR, when the server names one. */
  readonly aftrName: string | null;
  /** Prefixes a Solicit's Advertise offered; offered, not delegated: no Request is sent. */
  readonly offeredPrefixes: readonly IaPrefix[];
  readonly bound: string | null;
  readonly warnings: readonly string[];
}

/** The Advertise/Reply's other IPv4 method, explained for a person. */
function otherS46(reply: Dhcpv6Message): string | null {
  if (reply.aftrName !== null) return `DS-Lite (AFTR ${reply.aftrName})`;
  if (reply.mapT !== null) {
    const r = reply.mapT.rules[0];
    return `MAP-T${r === undefined ? "" : ` (rule ${r.ipv6Prefix} → ${r.ipv4Prefix}, DMR ${reply.mapT.dmr ?? "none"})`}`;
  }
  if (reply.lw4o6 !== null) {
    const b = reply.lw4o6.binding;
    return `lightweight 4over6 (lwAFTR ${reply.lw4o6.brs[0] ?? "none"}${b === null ? "" : `, IPv4 ${b.ipv4Address}`})`;
  }
  return null;
}

function random24(random: () => number): number {
  return Math.floor(random() * 0x1000000) & 0xffffff;
}

const NOTHING_YET = {
  rules: [],
  brs: [],
  fmr: [],
  exchange: null,
  reply: null,
  dnsServers: [],
  aftrName: null,
  offeredPrefixes: [],
  bound: null,
  warnings: [],
} as const;

/** One short DHCPv6 exchange asking for OPTION_S46_CONT_MAPE; the socket is closed before returning. */
export async function queryDhcpv6(io: Dhcpv6Io, options: Dhcpv6QueryOptions = {}): Promise<Dhcpv6Outcome> {
  const opened = await io.open();
  if (!opened.ok) return { ...NOTHING_YET, status: opened.status, message: opened.message };
  const kind = options.kind ?? "information-request";
  let exchange: ExchangeResult;
  try {
    exchange = await runExchange(opened.transport, io.clock, {
      kind,
      clientDuid: opened.duid,
      transactionId: random24(io.random),
      // MAP-T and lw4o6 are asked for only to report them: an Information-request creates no state.
      requestedOptions: [
        OPTION_AFTR_NAME,
        S46.contMapt,
        S46.contLw,
        Option.dnsServers,
        ...(kind === "information-request" ? [Option.informationRefreshTime] : []),
      ],
      maxDurationMs: options.maxDurationMs ?? 10_000,
      initialDelayMs: options.noInitialDelay === true ? 0 : initialDelay(kind, io.random),
      random: io.random,
    });
  } finally {
    opened.transport.close();
  }
  const base = { ...NOTHING_YET, exchange, bound: opened.bound };
  if (!exchange.ok) {
    const status =
      exchange.reason === "no-answer"
        ? "no-answer"
        : exchange.reason === "malformed"
          ? "malformed"
          : "server-status";
    return { ...base, status, message: exchange.detail };
  }
  const timing = `${exchange.elapsedMs} ms, ${exchange.transmissions} message${exchange.transmissions === 1 ? "" : "s"} sent`;
  return outcomeOfReply(base, exchange.message, kind === "solicit" ? "Advertise" : "Reply", timing);
}

/** What an Advertise or Reply (`what`) says about MAP-E, with the rules when it provisions it. */
function outcomeOfReply(
  base: Omit<Dhcpv6Outcome, "status" | "message">,
  reply: Dhcpv6Message,
  what: string,
  timing: string,
): Dhcpv6Outcome {
  const found = {
    ...base,
    reply,
    dnsServers: reply.dnsServers,
    aftrName: reply.aftrName,
    offeredPrefixes: reply.iaPd.flatMap((ia) => ia.prefixes),
  };
  if (reply.mapE === null) {
    const other = otherS46(reply);
    if (other !== null)
      return { ...found, status: "not-map-e", message: `the ${what} provisions ${other}, not MAP-E` };
    return {
      ...found,
      status: "no-map-e",
      message: `the ${what} has no OPTION_S46_CONT_MAPE (${timing}): this DHCPv6 server does not provision MAP-E`,
    };
  }
  let rules: MapRule[];
  try {
    rules = mapeRulesFromS46(reply.mapE);
  } catch (err) {
    if (!isDecodeError(err)) throw err;
    return {
      ...found,
      status: "malformed",
      message: `the ${what}'s MAP-E option is not usable: ${err.message}`,
    };
  }
  const warnings = reply.mapE.rules.flatMap((r, i) => r.notes.map((n) => `S46_RULE[${i}]: ${n}`));
  if (reply.mapE.ignored.length > 0) {
    warnings.push(
      `OPTION_S46_CONT_MAPE carries options it should not (${reply.mapE.ignored.join(", ")}); ignored`,
    );
  }
  if (reply.mapE.brs.length > 1) warnings.push(`${reply.mapE.brs.length} S46_BR options; using the first`);
  return {
    ...found,
    status: "ok",
    message: `${what}: MAP-E, ${rules.length} rule${rules.length === 1 ? "" : "s"}, BR ${reply.mapE.brs[0] ?? ""} (${timing})`,
    rules,
    brs: reply.mapE.brs,
    fmr: reply.mapE.rules.map((r) => r.fmr),
    warnings,
  };
}
