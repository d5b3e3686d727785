import { formatIpv6, parseIpv6 } from "../src/mape/ipv6.ts";
import { NS } from "./addresses.ts";
import { DROP_LOG_GROUP } from "./border-relays.ts";
import { capture } from "./capture.ts";
import type { Lab } from "./lab.ts";

/** One IPv4-in-IPv6 packet at the BRs, as tcpdump printed it (guest clock, seconds). */
export interface BrPacket {
  readonly t: number;
  /** The outer source, the CE address it came from (canonical form). */
  readonly src: string;
  /** The rest of tcpdump's line: the inner IPv4 packet. */
  readonly inner: string;
}

function canonical(address: string): string {
  try {
    return formatIpv6(parseIpv6(address));
  } catch {
    return address;
  }
}

/**
 * `tcpdump -tt -n -r` lines: `<time> IP6 <src> > <dst>: <inner>` for a tunnel packet, and
 * `<time> IP …` for an inner packet a BR dropped after decapsulating it (its outer source is then
 * unknown, "", until it is matched with its arrival).
 */
export function parseTunnelLines(text: string): BrPacket[] {
  const out: BrPacket[] = [];
  for (const line of text.split("\n")) {
    const outer = /^(\d+\.\d+) IP6 (\S+) > (\S+): (IP .*)$/.exec(line.trim());
    if (outer !== null)
      out.push({ t: Number(outer[1]), src: canonical(outer[2] ?? ""), inner: outer[4] ?? "" });
    const inner = /^(\d+\.\d+) (IP .*)$/.exec(line.trim());
    if (inner !== null) out.push({ t: Number(inner[1]), src: "", inner: inner[2] ?? "" });
  }
  return out;
}

export interface BrWatch {
  /** Stops both captures: every packet the BRs dropped, and every tunnel packet that reached them. */
  stop(): Promise<{ drops: BrPacket[]; arrivals: BrPacket[] }>;
}

/**
 * Watches the BRs packet by packet (they must run with `logDrops`): each drop from their NFLOG
 * group, logged by the very rule that counts it, and each IPv4-in-IPv6 packet that reaches them on
 * the NGN side. Times are the guest's clock, which the router system shares.
 */
export async function watchBrs(lab: Lab): Promise<BrWatch> {
  const drops = await capture(lab, NS.br, `nflog:${DROP_LOG_GROUP}`);
  const arrivals = await capture(lab, NS.br, "ngn0", ["ip6", "proto", "4"]);
  const read = async (file: string) =>
    parseTunnelLines(await lab.run(null, ["tcpdump", "-tt", "-n", "-r", file], { timeoutMs: 60_000 }));
  return {
    stop: async () => {
      const files = [await drops.stop(), await arrivals.stop()];
      return { drops: await read(files[0] ?? ""), arrivals: await read(files[1] ?? "") };
    },
  };
}

/**
 * What the BRs dropped around a switch from the old CE addresses to new ones, told apart packet by
 * packet: the switch is the first packet from a new CE address; a drop is unavoidable only when it
 * came from an old CE address before it (in flight while the line still delegated the old prefix,
 * which the BRs no longer serve). Every other drop is a fault: one after the switch, or one from
 * a new CE address (NATed for the old IPv4 address, or not at all).
 */
export function judgeSwitch(
  seen: { drops: readonly BrPacket[]; arrivals: readonly BrPacket[] },
  oldCe: readonly string[],
  newCe: readonly string[],
): { switchAt: number | null; unavoidable: BrPacket[]; faults: BrPacket[] } {
  const olds = new Set(oldCe.map(canonical));
  const news = new Set(newCe.map(canonical));
  const switchAt = seen.arrivals.find((p) => news.has(p.src))?.t ?? null;
  // NFLOG hands packets over in batches, stamped when they reach the capture: each drop takes the
  // time its packet reached the BR (the same outer source and inner packet, which carries its
  // sequence number); a drop with no such arrival is a fault.
  const unmatched = [...seen.arrivals];
  const unavoidable: BrPacket[] = [];
  const faults: BrPacket[] = [];
  for (const p of seen.drops) {
    const i = unmatched.findIndex((a) => a.inner === p.inner && (p.src === "" || a.src === p.src));
    const arrival = i < 0 ? undefined : unmatched.splice(i, 1)[0];
    const early = switchAt !== null && arrival !== undefined && arrival.t < switchAt;
    (early && olds.has(arrival.src) ? unavoidable : faults).push(arrival ?? p);
  }
  return { switchAt, unavoidable, faults };
}
