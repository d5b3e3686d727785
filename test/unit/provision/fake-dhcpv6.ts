import {
  decodeMessage,
  duidLl,
  encodeMessage,
  MessageType,
  options as opt,
  type RawOption,
} from "../../../src/provision/dhcpv6.ts";
import type { Clock, Dhcpv6Transport } from "../../../src/provision/dhcpv6-exchange.ts";
import { encodeMapeContainer, S46 } from "../../../src/provision/s46.ts";

export const SERVER_DUID = duidLl("02:aa:bb:cc:dd:01");
export const CLIENT_DUID = duidLl("52:54:00:12:34:56");

/** A reply to `request` as a server would build it: same xid, our DUID echoed, `extra` options. */
export function answer(
  request: Uint8Array,
  type: number,
  extra: readonly RawOption[],
  tweak: { xid?: number; clientId?: Uint8Array | null; serverId?: Uint8Array | null } = {},
): Uint8Array {
  const m = decodeMessage(request);
  const list: RawOption[] = [];
  const client = tweak.clientId === undefined ? (m.clientId?.bytes ?? null) : tweak.clientId;
  if (client !== null) list.push(opt.clientId(client));
  const server = tweak.serverId === undefined ? SERVER_DUID : tweak.serverId;
  if (server !== null) list.push(opt.serverId(server));
  return encodeMessage(type, tweak.xid ?? m.transactionId, [...list, ...extra]);
}

/** The rule and BR of the Kea configuration the fixture kea-reply-mape.hex was captured from. */
export const KEA_RULE = {
  fmr: true,
  eaLength: 22,
  ipv4Prefix: "133.209.0.0/18",
  ipv6Prefix: "2404:7a82:4000::/34",
  portParams: { offset: 4, psidLength: 0, psid: 0 },
} as const;
export const KEA_BR = "2001:db8:ffff::1";

export const MAPE_OPTION = opt.raw(S46.contMape, encodeMapeContainer([KEA_RULE], [KEA_BR]));

type Responder = (request: Uint8Array, at: number) => readonly { delay: number; bytes: Uint8Array }[];

/**
 * A link with a scripted server and a virtual clock: receive() jumps the clock to the next
 * datagram or to the timeout, so retransmission schedules are tested exactly and instantly.
 */
export class FakeLink implements Dhcpv6Transport {
  now = 0;
  readonly sent: { at: number; bytes: Uint8Array }[] = [];
  readonly #pending: { at: number; bytes: Uint8Array }[] = [];
  readonly #respond: Responder;
  closed = false;
  readonly clock: Clock = { now: () => this.now };

  constructor(respond: Responder = () => []) {
    this.#respond = respond;
  }

  inject(at: number, bytes: Uint8Array): void {
    this.#pending.push({ at, bytes });
  }

  send(bytes: Uint8Array): Promise<void> {
    this.sent.push({ at: this.now, bytes });
    for (const r of this.#respond(bytes, this.now))
      this.#pending.push({ at: this.now + r.delay, bytes: r.bytes });
    return Promise.resolve();
  }

  receive(timeoutMs: number): Promise<Uint8Array | null> {
    const deadline = this.now + timeoutMs;
    this.#pending.sort((a, b) => a.at - b.at);
    const next = this.#pending[0];
    if (next !== undefined && next.at <= deadline) {
      this.#pending.shift();
      this.now = Math.max(this.now, next.at);
      return Promise.resolve(next.bytes);
    }
    this.now = deadline;
    return Promise.resolve(null);
  }

  close(): void {
    this.closed = true;
  }
}

export const REPLY = MessageType.reply;
export const ADVERTISE = MessageType.advertise;
