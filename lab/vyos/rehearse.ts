import { join } from "node:path";
import { portInSet } from "../../src/mape/port-set.ts";
import { INET, NS } from "../addresses.ts";
import type { Lab } from "../lab.ts";
import { dnsFromLan, pingFromLan } from "../scenarios/probes.ts";
import { connectMany, udpProbe } from "../clients.ts";

/** What the scenario and the test check after each step: one line per probe. */
export interface Probe {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** The line's IPv4 side, as the BR enforces it. */
export interface LineIpv4 {
  readonly ipv4: string;
  readonly psid: number;
  readonly psidOffset: number;
  readonly psidLength: number;
}

/** `mapectl render --target vyos` for the prefix, with eth1 as the WAN (the profile's name for wan0). */
export async function renderedVyos(lab: Lab, prefix: string): Promise<{ lines: string[]; nft: string }> {
  const r = await lab.mapectl(
    NS.ce,
    ["render", "--target", "vyos", "--prefix", prefix, "--wan", "eth1", "--json"],
    { timeoutMs: 90_000 },
  );
  if (r.code !== 0) throw new Error(`mapectl render --target vyos failed: ${r.stderr.trim()}`);
  const files = (JSON.parse(r.stdout) as { files: { path: string; content: string }[] }).files;
  const text = (suffix: string) => files.find((f) => f.path.endsWith(suffix))?.content ?? "";
  return { lines: text("vyos-configure.txt").split("\n"), nft: text("mapectl.nft") };
}

async function fromRouter(lab: Lab, proto: "tcp" | "udp", host: string, port: number): Promise<Probe> {
  const script = join(lab.repo, "lab", "guest", "clients.py");
  const r = await lab.exec(NS.ce, ["/usr/bin/python3", script, proto, host, String(port), "2", "8"], {
    timeoutMs: 60_000,
  });
  const ok = r.code === 0 ? (JSON.parse(r.stdout) as { ok: number }).ok : 0;
  return {
    name: `2 ${proto.toUpperCase()} echoes from the router to ${host}:${port}`,
    passed: ok === 2,
    detail: `${ok}/2`,
  };
}

/**
 * Ping, TCP, UDP and DNS from the LAN and from the router itself, then what inet saw: every packet
 * from the line's IPv4 address and from a port (or echo id) of its PSID's set.
 */
export async function probeLine(lab: Lab, line: LineIpv4, quick = false): Promise<Probe[]> {
  await lab.clearRecords();
  const probes: Probe[] = [];
  const ping = await pingFromLan(lab);
  probes.push({ name: "ping 8.8.8.8 from lan", passed: ping.ok, detail: ping.detail });
  const tcp = await connectMany(lab, 4, INET.hosts[0], INET.manyPort, 15);
  probes.push({ name: "4 TCP connections from lan", passed: tcp.ok === 4, detail: `${tcp.ok}/4 echoed` });
  if (!quick) {
    const udp = await udpProbe(lab, 2, INET.hosts[2], INET.udpEchoPort, 8);
    probes.push({ name: "2 UDP echoes from lan", passed: udp.ok === 2, detail: `${udp.ok}/2` });
    const dns = await dnsFromLan(lab);
    probes.push({ name: "DNS from lan", passed: dns.ok, detail: dns.detail });
    const own = await lab.exec(NS.ce, ["ping", "-n", "-c", "2", "-i", "0.3", "-W", "3", INET.hosts[1]], {
      timeoutMs: 30_000,
    });
    probes.push({
      name: "ping from the router",
      passed: own.code === 0,
      detail: own.stdout.split("\n").at(-3) ?? "",
    });
    probes.push(await fromRouter(lab, "tcp", INET.hosts[0], INET.manyPort));
    probes.push(await fromRouter(lab, "udp", INET.hosts[2], INET.udpEchoPort));
    const kdig = await lab.exec(
      NS.ce,
      ["kdig", `@${INET.hosts[0]}`, "+timeout=3", "+retry=1", "+short", "www.example.com", "A"],
      {
        timeoutMs: 30_000,
      },
    );
    probes.push({
      name: "DNS from the router",
      passed: kdig.code === 0 && kdig.stdout.trim() === INET.webAddress,
      detail: kdig.stdout.trim() || kdig.stderr.trim(),
    });
  }
  const records = (await lab.records()).filter((r) => r.proto !== "http");
  const port = (r: (typeof records)[number]) => (r.proto === "icmp" ? r.id : r.sport) ?? -1;
  const bad = records.filter(
    (r) => r.src !== line.ipv4 || !portInSet(port(r), line.psidOffset, line.psidLength, line.psid),
  );
  probes.push({
    name: `inet saw only ${line.ipv4}, from PSID ${line.psid}'s ports`,
    passed: records.length > 0 && bad.length === 0,
    detail:
      bad.length === 0
        ? `${records.length} records: ${records.map((r) => `${r.proto} ${port(r)}`).join(" ")}`
        : `outside: ${bad.map((r) => `${r.proto} ${r.src}:${port(r)}`).join(", ")}`,
  });
  return probes;
}

/** One line for an assertion message: what failed. */
export function failedProbes(probes: readonly Probe[]): string {
  return probes
    .filter((p) => !p.passed)
    .map((p) => `${p.name}: ${p.detail}`)
    .join("; ");
}
