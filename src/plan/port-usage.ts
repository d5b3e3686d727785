import { foldPort, portFold } from "../mape/port-fold.ts";
import type { PortRange } from "../mape/port-set.ts";
import type { NatAllocator } from "./plan.ts";

/** One NATed flow as conntrack lists it: protocol, inside source, outside port (or ICMP id). */
export interface NatFlow {
  readonly protocol: string;
  readonly insideSource: string;
  readonly destination: string;
  readonly outsidePort: number;
  /** A TCP flow in TIME_WAIT or CLOSE: it holds its port but no longer counts against a host's limit. */
  readonly closed?: boolean;
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
    const closed = protocol === "tcp" && /\s(TIME_WAIT|CLOSE)\s/.test(line);
    flows.push({
      ...(closed ? { closed } : {}),
      protocol,
      insideSource: get(original, "src") ?? "",
      destination: `${get(original, "dst") ?? ""}${protocol === "icmp" ? "" : `:${get(original, "dport") ?? ""}`}`,
      outsidePort: port,
    });
  }
  return flows;
}

/** The protocols mapectl's NAT maps into the port set; each has a port space of its own. */
export const NAT_PROTOCOLS = ["tcp", "udp", "icmp"] as const;

/** How many ports of the set one protocol has taken and how many no flow of it uses at all. */
export interface ProtocolHeadroom {
  readonly inUse: number;
  readonly free: number;
}

export interface PortUsage {
  readonly total: number;
  readonly portCount: number;
  readonly perBlock: readonly { readonly first: number; readonly last: number; readonly used: number }[];
  readonly perProtocol: Readonly<Record<string, number>>;
  /** Flows whose outside port is not in the port set: the BR drops them. */
  readonly outsideSet: number;
  /**
   * Ports of the set that no flow uses, per protocol (tcp, udp and icmp ids are separate spaces);
   * `free` is the tightest of them. The kernel may still reuse a busy port towards another
   * destination, so this is what a new flow to any destination is sure to find.
   */
  readonly headroom: {
    readonly free: number;
    readonly perProtocol: Readonly<Record<string, ProtocolHeadroom>>;
  };
  /**
   * Inside hosts with the most flows, most first: who to ask when the ports run out. `open`: the
   * flows that count against the per-host limit (TCP in TIME_WAIT or CLOSE no longer does).
   */
  readonly busiestHosts: readonly {
    readonly address: string;
    readonly flows: number;
    readonly open: number;
  }[];
  /** Flows one LAN host may hold ([nat] max-ports-per-host), or null without a limit. */
  readonly perHostLimit: number | null;
  /** Destinations (address:port, or address for ICMP) with the most flows, most first. */
  readonly busiestDestinations: readonly { readonly destination: string; readonly flows: number }[];
}

/** How many of the busiest hosts and destinations a report names. */
export const BUSIEST_COUNT = 5;

function busiest(keys: readonly string[], count: number): { key: string; flows: number }[] {
  const tally = new Map<string, number>();
  for (const key of keys) tally.set(key, (tally.get(key) ?? 0) + 1);
  return [...tally]
    .map(([key, flows]) => ({ key, flows }))
    .sort((a, b) => b.flows - a.flows || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, count);
}

/**
 * The flows with the ports they have on the wire: under the fold allocator conntrack holds the
 * allocated port, which mapectl's table translates into the set on the way out.
 */
export function onWire(
  flows: readonly NatFlow[],
  sets: readonly PortRange[],
  allocator?: NatAllocator,
): NatFlow[] {
  const fold = allocator === "fold" ? portFold(sets) : null;
  if (fold === null) return [...flows];
  return flows.map((f) => ({ ...f, outsidePort: foldPort(fold, f.outsidePort) ?? f.outsidePort }));
}

export function portUsage(
  natFlows: readonly NatFlow[],
  sets: readonly PortRange[],
  portCount: number,
  allocator?: NatAllocator,
  perHostLimit: number | null = null,
): PortUsage {
  const flows = onWire(natFlows, sets, allocator);
  const perBlock = sets.map(([first, last]) => ({ first, last, used: 0 }));
  const perProtocol: Record<string, number> = {};
  const portsPerProtocol = new Map<string, Set<number>>(NAT_PROTOCOLS.map((p) => [p, new Set<number>()]));
  let outsideSet = 0;
  for (const f of flows) {
    perProtocol[f.protocol] = (perProtocol[f.protocol] ?? 0) + 1;
    const block = perBlock.find((b) => f.outsidePort >= b.first && f.outsidePort <= b.last);
    if (block === undefined) {
      outsideSet++;
      continue;
    }
    block.used++;
    const ports = portsPerProtocol.get(f.protocol) ?? new Set<number>();
    ports.add(f.outsidePort);
    portsPerProtocol.set(f.protocol, ports);
  }
  const headroomPerProtocol: Record<string, ProtocolHeadroom> = {};
  for (const [protocol, ports] of portsPerProtocol) {
    headroomPerProtocol[protocol] = { inUse: ports.size, free: portCount - ports.size };
  }
  return {
    total: flows.length,
    portCount,
    perBlock,
    perProtocol,
    outsideSet,
    headroom: {
      free: Math.min(...Object.values(headroomPerProtocol).map((h) => h.free)),
      perProtocol: headroomPerProtocol,
    },
    busiestHosts: busiest(
      flows.map((f) => f.insideSource),
      BUSIEST_COUNT,
    ).map(({ key, flows: n }) => ({
      address: key,
      flows: n,
      open: flows.filter((f) => f.insideSource === key && f.closed !== true).length,
    })),
    perHostLimit,
    busiestDestinations: busiest(
      flows.map((f) => f.destination),
      BUSIEST_COUNT,
    ).map(({ key, flows: n }) => ({ destination: key, flows: n })),
  };
}
