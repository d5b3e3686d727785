import type { PortRange } from "../mape/port-set.ts";

/** One NATed flow as conntrack lists it: protocol, inside source, outside port (or ICMP id). */
export interface NatFlow {
  readonly protocol: string;
  readonly insideSource: string;
  readonly destination: string;
  readonly outsidePort: number;
}

const FIELD = /(\w+)=(\S+)/g;

/**
 * `conntrack -L -n` lines: the reply tuple's destination is our IPv4 address and its dport (or
 * ICMP id) is the port the NAT chose. Lines for other addresses are skipped.
 */
export function parseConntrack(text: string, ipv4Address: string): NatFlow[] {
  const flows: NatFlow[] = [];
  for (const line of text.split("\n")) {
    const protocol = /^\s*(\w+)/.exec(line)?.[1];
    if (protocol === undefined) continue;
    const fields: [string, string][] = [...line.matchAll(FIELD)].map((m) => [m[1] ?? "", m[2] ?? ""]);
    const srcIdx = fields.findIndex(([k]) => k === "src");
    const replyIdx = fields.findIndex(([k], i) => k === "src" && i > srcIdx);
    if (srcIdx < 0 || replyIdx < 0) continue;
    const original = fields.slice(srcIdx, replyIdx);
    const reply = fields.slice(replyIdx);
    const get = (list: [string, string][], key: string) => list.find(([k]) => k === key)?.[1];
    if (get(reply, "dst") !== ipv4Address) continue;
    const port = Number(get(reply, protocol === "icmp" ? "id" : "dport"));
    if (!Number.isInteger(port)) continue;
    flows.push({
      protocol,
      insideSource: get(original, "src") ?? "",
      destination: `${get(original, "dst") ?? ""}${protocol === "icmp" ? "" : `:${get(original, "dport") ?? ""}`}`,
      outsidePort: port,
    });
  }
  return flows;
}

export interface PortUsage {
  readonly total: number;
  readonly portCount: number;
  readonly perBlock: readonly { readonly first: number; readonly last: number; readonly used: number }[];
  readonly perProtocol: Readonly<Record<string, number>>;
  /** Flows whose outside port is not in the port set: the BR drops them. */
  readonly outsideSet: number;
}

export function portUsage(
  flows: readonly NatFlow[],
  sets: readonly PortRange[],
  portCount: number,
): PortUsage {
  const perBlock = sets.map(([first, last]) => ({ first, last, used: 0 }));
  const perProtocol: Record<string, number> = {};
  let outsideSet = 0;
  for (const f of flows) {
    perProtocol[f.protocol] = (perProtocol[f.protocol] ?? 0) + 1;
    const block = perBlock.find((b) => f.outsidePort >= b.first && f.outsidePort <= b.last);
    if (block === undefined) outsideSet++;
    else block.used++;
  }
  return { total: flows.length, portCount, perBlock, perProtocol, outsideSet };
}
