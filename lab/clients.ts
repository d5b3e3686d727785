import { join } from "node:path";
import { INET, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";

// Short bursts of traffic from the lan client (lab/guest/clients.py), each run to completion:
// what the CE's NAT does with many flows at once.

export interface ManyConnectionsResult {
  readonly count: number;
  readonly ok: number;
  /** The lan client's own ports, before NAT. */
  readonly clientPorts: readonly number[];
  /** Source address and port of each connection as inet saw it (after the CE's NAT). */
  readonly seen: readonly { src: string; sport: number }[];
}

interface ClientsReport {
  readonly count: number;
  readonly ok: number;
  readonly results: readonly { readonly localPort: number | null }[];
}

async function runClients(
  lab: Lab,
  proto: "tcp" | "udp",
  count: number,
  host: string,
  port: number,
  timeoutS: number,
): Promise<ClientsReport> {
  const script = join(lab.repo, "lab", "guest", "clients.py");
  const argv = ["/usr/bin/python3", script, proto, host, String(port), String(count), String(timeoutS)];
  const out = await lab.run(NS.lan, argv, { timeoutMs: (timeoutS + 30) * 1000 });
  return JSON.parse(out) as ClientsReport;
}

/**
 * Opens `count` TCP connections at once from lan to host:port, all held until each has echoed,
 * and returns which source ports inet saw (after the CE's NAT).
 */
export async function connectMany(
  lab: Lab,
  count: number,
  host: string = INET.hosts[0],
  port: number = INET.manyPort,
  timeoutS = 20,
): Promise<ManyConnectionsResult> {
  const already = (await lab.records()).length;
  const report = await runClients(lab, "tcp", count, host, port, timeoutS);
  const seen = (await lab.records())
    .slice(already)
    .filter((r) => r.proto === "tcp" && r.dport === port && r.dst === host)
    .map((r) => ({ src: r.src, sport: r.sport ?? -1 }));
  return {
    count: report.count,
    ok: report.ok,
    clientPorts: report.results.map((r) => r.localPort ?? -1),
    seen,
  };
}

/** UDP datagrams from `count` sockets in lan to host:port, each waiting for its echo. */
export async function udpProbe(
  lab: Lab,
  count: number,
  host: string = INET.hosts[0],
  port: number = INET.udpEchoPort,
  timeoutS = 10,
): Promise<{ count: number; ok: number }> {
  const { count: sent, ok } = await runClients(lab, "udp", count, host, port, timeoutS);
  return { count: sent, ok };
}
