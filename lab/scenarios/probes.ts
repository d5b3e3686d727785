import { INET, NS } from "../addresses.ts";
import { udpProbe } from "../clients.ts";
import type { Lab } from "../lab.ts";
import type { Checks } from "./scenario.ts";

/** The probes the scenarios share, from the lan client to "the internet". */
export async function pingFromLan(
  lab: Lab,
  host: string = INET.hosts[0],
  count = 3,
): Promise<{ ok: boolean; detail: string }> {
  const r = await lab.exec(NS.lan, ["ping", "-n", "-c", String(count), "-i", "0.3", "-W", "3", host], {
    timeoutMs: 30_000,
  });
  const summary = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { ok: r.code === 0, detail: summary?.[0] ?? (r.stderr.trim() || `ping exited with ${r.code}`) };
}

export async function httpFromLan(
  lab: Lab,
  host: string = INET.hosts[2],
): Promise<{ ok: boolean; detail: string }> {
  const r = await lab.exec(NS.lan, ["curl", "-sS", "-m", "8", `http://${host}/`], { timeoutMs: 30_000 });
  return {
    ok: r.code === 0 && r.stdout.includes("hello"),
    detail: r.code === 0 ? `GET http://${host}/: ${r.stdout.trim()}` : r.stderr.trim(),
  };
}

export async function dnsFromLan(
  lab: Lab,
  server: string = INET.hosts[0],
): Promise<{ ok: boolean; detail: string }> {
  const r = await lab.exec(
    NS.lan,
    ["kdig", `@${server}`, "+timeout=3", "+retry=1", "+short", "www.example.com", "A"],
    { timeoutMs: 30_000 },
  );
  const answer = r.stdout.trim();
  return {
    ok: r.code === 0 && answer === INET.webAddress,
    detail: `www.example.com A via ${server}: ${answer || r.stderr.trim() || "no answer"}`,
  };
}

/** The router's own IPv4 (from the ce namespace), to 1.1.1.1. */
export async function pingFromRouter(lab: Lab): Promise<{ ok: boolean; detail: string }> {
  const own = await lab.exec(NS.ce, ["ping", "-n", "-c", "1", "-W", "3", INET.hosts[2]], {
    timeoutMs: 20_000,
  });
  return { ok: own.code === 0, detail: own.code === 0 ? "1.1.1.1 answered" : own.stdout.trim() };
}

/**
 * What every method's scenario proves from the LAN, one check each: ping, DNS, TCP (HTTP) and UDP
 * from the lan client to the lab's internet, through whatever the router built.
 */
export async function lanTraffic(lab: Lab, checks: Checks): Promise<void> {
  const ping = await pingFromLan(lab);
  checks.add("ping 8.8.8.8 from the LAN", ping.ok, ping.detail);
  const dns = await dnsFromLan(lab);
  checks.add("DNS from the LAN", dns.ok, dns.detail);
  const http = await httpFromLan(lab);
  checks.add("TCP (HTTP) from the LAN", http.ok, http.detail);
  const udp = await udpProbe(lab, 4, INET.hosts[2], INET.udpEchoPort, 8);
  checks.add("UDP from the LAN", udp.ok === 4, `${udp.ok}/4 echoed`);
}
