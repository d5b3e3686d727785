import type { NatFlow } from "../plan/port-usage.ts";

function tally(keys: Iterable<string>): [string, number][] {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/**
 * The NAT needs a port of the set that is free towards the destination of a new flow, so the set
 * runs out per destination (protocol, address and port), not in total: 2,000 flows to many servers
 * fit in 240 ports, 200 to one do not. Warns about the busiest destination, naming the inside
 * hosts with the most flows to it; null while every destination is under the threshold.
 */
export function portWarning(flows: readonly NatFlow[], portCount: number, ratio: number): string | null {
  const [busiest] = tally(flows.map((f) => `${f.protocol} ${f.destination}`));
  if (busiest === undefined || busiest[1] < portCount * ratio) return null;
  const [key, used] = busiest;
  const hosts = tally(
    flows.filter((f) => `${f.protocol} ${f.destination}` === key).map((f) => f.insideSource),
  )
    .slice(0, 3)
    .map(([h, n]) => `${h} (${n})`)
    .join(", ");
  return `NAT ports towards ${key}: ${used} of ${portCount} in use (${Math.round((100 * used) / portCount)}%, ${flows.length} flows in all); busiest inside hosts: ${hosts}`;
}

/**
 * The LAN hosts holding as many open flows through the tunnel as the per-host limit lets them
 * (TCP in TIME_WAIT or CLOSE no longer counts, as for the kernel's ct count): their new flows are
 * being refused. Sorted by address; empty without a limit.
 */
export function hostsAtLimit(flows: readonly NatFlow[], limit: number | null): string[] {
  if (limit === null) return [];
  return tally(flows.filter((f) => f.closed !== true).map((f) => f.insideSource))
    .filter(([, n]) => n >= limit)
    .map(([host]) => host)
    .sort();
}

/** The daemon's line for a host that reached the per-host limit. */
export function hostLimitWarning(host: string, limit: number): string {
  return `LAN host ${host} holds ${limit} flows through the tunnel, its limit ([nat] max-ports-per-host = ${limit}): its new connections are refused until some close`;
}
