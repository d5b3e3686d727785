import {
  decodeMessage,
  encodeMessage,
  MessageType,
  messageName,
  Option,
  options as opt,
  peekTransactionId,
  type Dhcpv6Message,
  type RawOption,
  type StatusCode,
} from "./dhcpv6.ts";
import { hex } from "./bytes.ts";
import { isDecodeError, type DecodeError } from "./errors.ts";
import { S46 } from "./s46.ts";

/** RFC 8415 §15 retransmission parameters, in milliseconds; 0 means "no limit". */
export interface RetransmissionParams {
  readonly irt: number;
  readonly mrt: number;
  readonly mrc: number;
  readonly mrd: number;
}

/** RFC 8415 §7.6: INF_TIMEOUT 1 s, INF_MAX_RT 3600 s; SOL_TIMEOUT 1 s, SOL_MAX_RT 3600 s. */
export const INFORMATION_REQUEST_PARAMS: RetransmissionParams = { irt: 1000, mrt: 3_600_000, mrc: 0, mrd: 0 };
export const SOLICIT_PARAMS: RetransmissionParams = { irt: 1000, mrt: 3_600_000, mrc: 0, mrd: 0 };
/** RFC 8415 §18.2.6: the first Information-request waits a random 0 … INF_MAX_DELAY. */
export const INF_MAX_DELAY = 1000;

/**
 * RFC 8415 §15: RT = IRT + RAND·IRT first, then 2·RTprev + RAND·RTprev, capped at MRT + RAND·MRT.
 * `rand` is RAND, in [−0.1, 0.1].
 */
export function nextRetransmissionTime(
  previous: number | null,
  params: RetransmissionParams,
  rand: number,
): number {
  if (previous === null) return params.irt + rand * params.irt;
  const rt = 2 * previous + rand * previous;
  return params.mrt > 0 && rt > params.mrt ? params.mrt + rand * params.mrt : rt;
}

export type ExchangeKind = "information-request" | "solicit";

export interface ExchangeOptions {
  readonly kind: ExchangeKind;
  readonly clientDuid: Uint8Array;
  /** 24 bits; the same for every retransmission of this exchange (RFC 8415 §15). */
  readonly transactionId: number;
  /** Extra option codes for the ORO; OPTION_S46_CONT_MAPE is always asked for. */
  readonly requestedOptions?: readonly number[];
  readonly iaid?: number;
  readonly rapidCommit?: boolean;
  /** This client's bound on the whole exchange: RFC 8415 lets an Information-request retry forever. */
  readonly maxDurationMs: number;
  /** MRC; 0 = only the time bound. */
  readonly maxTransmissions?: number;
  /** Before the first message; draw it with `initialDelay` (0 in tests). */
  readonly initialDelayMs: number;
  /** Uniform in [0, 1): the source of RAND. */
  readonly random: () => number;
  readonly params?: RetransmissionParams;
}

/** Why a datagram that arrived did not end the exchange. */
export interface IgnoredDatagram {
  readonly at: number;
  readonly reason: string;
}

export type ExchangeResult =
  | {
      readonly ok: true;
      readonly message: Dhcpv6Message;
      readonly bytes: Uint8Array;
      readonly transmissions: number;
      /** From the first transmission to the accepted answer. */
      readonly elapsedMs: number;
      readonly ignored: readonly IgnoredDatagram[];
    }
  | {
      readonly ok: false;
      readonly reason: "no-answer" | "malformed" | "status";
      readonly detail: string;
      readonly transmissions: number;
      readonly elapsedMs: number;
      readonly ignored: readonly IgnoredDatagram[];
      readonly decodeError: DecodeError | null;
      readonly status: StatusCode | null;
    };

/** What the runner does next: send (maybe nothing) and wait until `wakeAt`, or stop. */
export type ExchangeStep =
  | { readonly done: false; readonly send: Uint8Array | null; readonly wakeAt: number }
  | { readonly done: true; readonly result: ExchangeResult };

export function initialDelay(kind: ExchangeKind, random: () => number): number {
  // Solicit lost its SOL_MAX_DELAY in RFC 8415; Information-request keeps INF_MAX_DELAY.
  return kind === "information-request" ? Math.floor(random() * INF_MAX_DELAY) : 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The client side of one Information-request/Reply or Solicit/Advertise exchange as a pure state
 * machine: it never touches a socket or a timer, it says what to send and when to wake up, so the
 * daemon, the CLI and the tests drive it with a real or a scripted transport and clock.
 */
export class Dhcpv6Exchange {
  readonly #o: ExchangeOptions;
  readonly #params: RetransmissionParams;
  #startedAt = 0;
  #firstSentAt: number | null = null;
  #rt: number | null = null;
  #wakeAt = 0;
  #transmissions = 0;
  #ignored: IgnoredDatagram[] = [];
  #lastDecodeError: DecodeError | null = null;
  /** Solicit: Advertises collected during the first RT, best first. */
  #advertises: { message: Dhcpv6Message; bytes: Uint8Array }[] = [];
  #finished = false;

  constructor(options: ExchangeOptions) {
    this.#o = options;
    this.#params =
      options.params ?? (options.kind === "solicit" ? SOLICIT_PARAMS : INFORMATION_REQUEST_PARAMS);
  }

  get transactionId(): number {
    return this.#o.transactionId & 0xffffff;
  }

  /** The ORO of every message: MAP-E first, then what the caller adds, then INF_MAX_RT / SOL_MAX_RT. */
  get requestedOptions(): number[] {
    // RFC 8415 §18.2.1 and §18.2.6: a client MUST ask for SOL_MAX_RT / INF_MAX_RT in its ORO.
    const maxRt = this.#o.kind === "solicit" ? Option.solMaxRt : Option.infMaxRt;
    const codes = [S46.contMape, ...(this.#o.requestedOptions ?? []), maxRt];
    return codes.filter((c, i) => codes.indexOf(c) === i);
  }

  start(now: number): ExchangeStep {
    this.#startedAt = now;
    this.#wakeAt = now + Math.max(this.#o.initialDelayMs, 0);
    return { done: false, send: null, wakeAt: this.#wakeAt };
  }

  /** The message as it would go out at `now`: only Elapsed Time changes between retransmissions. */
  buildMessage(now: number): Uint8Array {
    const elapsed = this.#firstSentAt === null ? 0 : (now - this.#firstSentAt) / 10;
    const list: RawOption[] = [
      opt.clientId(this.#o.clientDuid),
      opt.oro(this.requestedOptions),
      opt.elapsedTime(elapsed),
    ];
    if (this.#o.kind === "solicit") {
      if (this.#o.rapidCommit === true) list.push(opt.rapidCommit());
      list.push(opt.iaPd(this.#o.iaid ?? 1, 0, 0));
    }
    const type = this.#o.kind === "solicit" ? MessageType.solicit : MessageType.informationRequest;
    return encodeMessage(type, this.transactionId, list);
  }

  #rand(first: boolean): number {
    // RFC 8415 §15: for the first Solicit RAND must be strictly positive, so no Advertise is missed early.
    const r = this.#o.random();
    return first && this.#o.kind === "solicit" ? 0.001 + r * 0.099 : r * 0.2 - 0.1;
  }

  #finish(result: ExchangeResult): ExchangeStep {
    this.#finished = true;
    return { done: true, result };
  }

  #elapsed(now: number): number {
    // Tenths of a millisecond are all a report needs from performance.now().
    return this.#firstSentAt === null ? 0 : Math.round((now - this.#firstSentAt) * 10) / 10;
  }

  #fail(
    now: number,
    reason: "no-answer" | "malformed" | "status",
    detail: string,
    status: StatusCode | null = null,
  ): ExchangeStep {
    return this.#finish({
      ok: false,
      reason,
      detail,
      transmissions: this.#transmissions,
      elapsedMs: this.#elapsed(now),
      ignored: this.#ignored,
      decodeError: this.#lastDecodeError,
      status,
    });
  }

  #accept(now: number, message: Dhcpv6Message, bytes: Uint8Array): ExchangeStep {
    if (message.status !== null && message.status.code !== 0) {
      const text = message.status.message === "" ? "" : `: ${message.status.message}`;
      return this.#fail(now, "status", `the server answered ${message.status.name}${text}`, message.status);
    }
    return this.#finish({
      ok: true,
      message,
      bytes,
      transmissions: this.#transmissions,
      elapsedMs: this.#elapsed(now),
      ignored: this.#ignored,
    });
  }

  /** The wake-up time has come: send the first message, retransmit, pick an Advertise, or give up. */
  timeout(now: number): ExchangeStep {
    if (this.#finished) throw new Error("exchange already finished");
    if (now < this.#wakeAt) return { done: false, send: null, wakeAt: this.#wakeAt };
    const best = this.#advertises[0];
    if (best !== undefined) return this.#accept(now, best.message, best.bytes);
    const limitByTime = this.#o.maxDurationMs > 0 && now - this.#startedAt >= this.#o.maxDurationMs;
    const mrc = this.#o.maxTransmissions ?? this.#params.mrc;
    const limitByCount = mrc > 0 && this.#transmissions >= mrc;
    const mrd = this.#params.mrd;
    const limitByMrd = mrd > 0 && this.#firstSentAt !== null && now - this.#firstSentAt >= mrd;
    if (limitByTime || limitByCount || limitByMrd) {
      const sent = `${this.#transmissions} ${this.#o.kind === "solicit" ? "Solicit" : "Information-request"}${this.#transmissions === 1 ? "" : "s"}`;
      if (this.#lastDecodeError !== null) {
        return this.#fail(
          now,
          "malformed",
          `the only answers were malformed: ${this.#lastDecodeError.message}`,
        );
      }
      const others =
        this.#ignored.length === 0
          ? ""
          : `; ${this.#ignored.length} other datagram${this.#ignored.length === 1 ? "" : "s"} ignored (${this.#ignored[this.#ignored.length - 1]?.reason ?? ""})`;
      return this.#fail(
        now,
        "no-answer",
        `no answer from a DHCPv6 server in ${((now - this.#startedAt) / 1000).toFixed(1)} s (${sent})${others}`,
      );
    }
    const first = this.#firstSentAt === null;
    if (first) this.#firstSentAt = now;
    this.#rt = nextRetransmissionTime(this.#rt, this.#params, this.#rand(first));
    this.#transmissions += 1;
    let wakeAt = now + this.#rt;
    if (this.#o.maxDurationMs > 0) wakeAt = Math.min(wakeAt, this.#startedAt + this.#o.maxDurationMs);
    if (mrd > 0 && this.#firstSentAt !== null) wakeAt = Math.min(wakeAt, this.#firstSentAt + mrd);
    this.#wakeAt = wakeAt;
    return { done: false, send: this.buildMessage(now), wakeAt };
  }

  #ignore(now: number, reason: string): ExchangeStep {
    this.#ignored.push({ at: now, reason });
    return { done: false, send: null, wakeAt: this.#wakeAt };
  }

  /** A datagram arrived on port 546. */
  receive(bytes: Uint8Array, now: number): ExchangeStep {
    if (this.#finished) throw new Error("exchange already finished");
    if (this.#firstSentAt === null) return this.#ignore(now, "arrived before this client sent anything");
    const xid = peekTransactionId(bytes);
    if (xid === null) return this.#ignore(now, `${bytes.length} bytes are too short for a DHCPv6 header`);
    if (xid !== this.transactionId) {
      return this.#ignore(
        now,
        `transaction-id 0x${xid.toString(16)} is not this exchange's 0x${this.transactionId.toString(16)}`,
      );
    }
    let message: Dhcpv6Message;
    try {
      message = decodeMessage(bytes);
    } catch (err) {
      if (!isDecodeError(err)) throw err;
      this.#lastDecodeError = err;
      return this.#ignore(now, `malformed: ${err.message}`);
    }
    const solicit = this.#o.kind === "solicit";
    const rapid =
      solicit && this.#o.rapidCommit === true && message.type === MessageType.reply && message.rapidCommit;
    const expected = solicit ? MessageType.advertise : MessageType.reply;
    if (message.type !== expected && !rapid) {
      return this.#ignore(
        now,
        `${messageName(message.type)} is not an answer to ${solicit ? "Solicit" : "Information-request"}`,
      );
    }
    // RFC 8415 §16.3, §16.10: answers carry the server's DUID and echo ours.
    if (message.serverId === null)
      return this.#ignore(now, `${messageName(message.type)} without OPTION_SERVERID`);
    if (message.clientId === null || !sameBytes(message.clientId.bytes, this.#o.clientDuid)) {
      return this.#ignore(
        now,
        `${messageName(message.type)} whose OPTION_CLIENTID is not ours (${message.clientId === null ? "none" : hex(message.clientId.bytes)})`,
      );
    }
    if (!solicit || rapid) return this.#accept(now, message, bytes);
    // RFC 8415 §18.2.1: collect Advertises until the first RT ends; preference 255 ends it at once.
    if (message.preference === 255) return this.#accept(now, message, bytes);
    this.#advertises.push({ message, bytes });
    this.#advertises.sort((a, b) => (b.message.preference ?? 0) - (a.message.preference ?? 0));
    if (this.#transmissions > 1)
      return this.#accept(now, this.#advertises[0]?.message ?? message, this.#advertises[0]?.bytes ?? bytes);
    return { done: false, send: null, wakeAt: this.#wakeAt };
  }
}

export interface Dhcpv6Transport {
  send(message: Uint8Array): Promise<void>;
  /** The next datagram for port 546, or null once `timeoutMs` has passed without one. */
  receive(timeoutMs: number): Promise<Uint8Array | null>;
  close(): void;
}

export interface Clock {
  now(): number;
}

/** Drives an exchange over a transport until it ends; the transport stays open for the caller to close. */
export async function runExchange(
  transport: Dhcpv6Transport,
  clock: Clock,
  options: ExchangeOptions,
): Promise<ExchangeResult> {
  const exchange = new Dhcpv6Exchange(options);
  let step = exchange.start(clock.now());
  for (;;) {
    if (step.done) return step.result;
    if (step.send !== null) await transport.send(step.send);
    const wait = Math.max(step.wakeAt - clock.now(), 0);
    const datagram = await transport.receive(wait);
    step = datagram === null ? exchange.timeout(clock.now()) : exchange.receive(datagram, clock.now());
  }
}
