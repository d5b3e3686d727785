import { portInSet } from "../../src/mape/port-set.ts";
import { CE, INET, NS } from "../addresses.ts";
import { countedDrops } from "../border-relays.ts";
import { connectMany, udpProbe } from "../clients.ts";
import type { InetRecord } from "../lab.ts";
import { applyReferenceCe } from "../reference-ce.ts";
import { dnsFromLan, httpFromLan, pingFromLan } from "./probes.ts";
import { Checks, nonZero, type Scenario } from "./scenario.ts";

function portOf(record: InetRecord): number | undefined {
  return record.proto === "icmp" ? record.id : record.sport;
}

/**
 * The lab proves itself: a hand-written CE for the delegated prefix (all port blocks, encaplimit
 * none, CE /128 on the WAN, BR via the link-local router, MSS clamp) must carry ping, TCP, UDP and
 * DNS from lan to inet, and every source port or echo id inet sees must be in the CE's port set.
 */
export const reference: Scenario = {
  name: "reference",
  method: "map-e",
  summary: "hand-written reference CE: ping, TCP, UDP and DNS reach inet from ports of the CE's port set",
  async run(lab) {
    const checks = new Checks();
    const config = await applyReferenceCe(lab, lab.prefix);
    const p = config.resolved.params;
    const rule = p.rule;
    checks.add(
      "reference CE configured",
      true,
      `${config.ceAddress} → BR ${config.br}, ${config.ipv4} PSID ${p.psid}, ${p.portCount} ports in ${p.portSets.length} blocks`,
    );
    await lab.clearRecords();
    const ping = await pingFromLan(lab);
    checks.add("ping 8.8.8.8 from lan", ping.ok, ping.detail);
    const tcp = await connectMany(lab, 8, INET.hosts[0], INET.manyPort, 15);
    checks.add("8 TCP connections to 8.8.8.8:9000 from lan", tcp.ok === 8, `${tcp.ok}/8 echoed`);
    const http = await httpFromLan(lab);
    checks.add("HTTP to 1.1.1.1 from lan", http.ok, http.detail);
    const udp = await udpProbe(lab, 4, INET.hosts[2], INET.udpEchoPort, 8);
    checks.add("4 UDP datagrams to 1.1.1.1:7 from lan", udp.ok === 4, `${udp.ok}/4 echoed`);
    const dns = await dnsFromLan(lab);
    checks.add("DNS query to 8.8.8.8 from lan", dns.ok, dns.detail);

    const records = await lab.records();
    const fromCe = records.filter((r) => r.proto !== "http");
    const wrongSource = fromCe.filter((r) => r.src !== config.ipv4);
    checks.add(
      `inet saw only ${config.ipv4}`,
      fromCe.length > 0 && wrongSource.length === 0,
      wrongSource.length === 0
        ? `${fromCe.length} records`
        : `other sources: ${[...new Set(wrongSource.map((r) => r.src))].join(", ")}`,
    );
    const outside = fromCe.filter((r) => {
      const port = portOf(r);
      return port === undefined || !portInSet(port, rule.psidOffset, rule.psidLength, p.psid);
    });
    const byProto = (proto: string): number[] =>
      fromCe.filter((r) => r.proto === proto).map((r) => portOf(r) ?? -1);
    checks.add(
      `every source port and echo id inet saw is in PSID ${p.psid}'s set`,
      fromCe.length > 0 &&
        outside.length === 0 &&
        ["tcp", "udp", "icmp"].every((proto) => byProto(proto).length > 0),
      outside.length === 0
        ? `tcp ${byProto("tcp").join(" ")}; udp ${byProto("udp").join(" ")}; icmp ids ${byProto("icmp").join(" ")}`
        : `outside the set: ${outside.map((r) => `${r.proto} ${String(portOf(r))}`).join(", ")}`,
    );
    const counters = await lab.isp.counters();
    const drops = countedDrops(counters);
    checks.add(
      "the BRs dropped nothing",
      drops.length === 0,
      drops.length === 0 ? "all drop counters 0" : drops.join(", "),
    );
    const wan = await lab.linkStats(NS.ce, CE.wan);
    checks.add(
      "traffic went through the WAN",
      wan.txPackets > 0 && wan.rxPackets > 0,
      `wan0 tx ${wan.txPackets} rx ${wan.rxPackets} packets`,
    );
    return checks.report("reference", lab, nonZero(counters));
  },
};
