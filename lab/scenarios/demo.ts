import { portInSet } from "../../src/mape/port-set.ts";
import { CE, INET, NS } from "../addresses.ts";
import { countedDrops } from "../border-relays.ts";
import { connectMany } from "../clients.ts";
import { lanTraffic, pingFromRouter } from "./probes.ts";
import { Checks, nonZero, type Scenario } from "./scenario.ts";

interface UpReport {
  actions: { summary: string }[];
  prefixFrom: string;
  source: string;
  durationMs: number;
  plan: {
    ipv4Address: string;
    br: string;
    ceAddress: string;
    portCount: number;
    portSets: [number, number][];
    parameters: {
      psid: number;
      serviceName: string | null;
      rule: { psidOffset: number; psidLength: number };
    };
  };
}

/**
 * The main job, end to end: a freshly booted router (only an RA default route and the /56 from
 * DHCPv6-PD) runs `mapectl up`, and IPv4 from the LAN reaches the internet through the strict BR.
 */
export const demo: Scenario = {
  name: "demo",
  method: "map-e",
  summary:
    "mapectl up on a fresh router for the delegated prefix, then ping, DNS, HTTP, UDP and 240 connections through MAP-E",
  async run(lab) {
    const checks = new Checks();
    const up = await lab.mapectl(NS.ce, ["up", "--wan", CE.wan, "--lan", CE.lan, "--json"], {
      timeoutMs: 120_000,
    });
    if (up.code !== 0) {
      checks.add("mapectl up", false, up.stderr.trim());
      return checks.report("demo", lab, nonZero(await lab.isp.counters()));
    }
    const doc = JSON.parse(up.stdout) as UpReport;
    const plan = doc.plan;
    checks.add(
      "mapectl up",
      true,
      `${doc.prefixFrom}: ${plan.parameters.serviceName ?? "?"}, ${plan.ipv4Address} PSID ${plan.parameters.psid}, CE ${plan.ceAddress}, BR ${plan.br}; ${doc.actions.length} changes in ${(doc.durationMs / 1000).toFixed(1)} s: ${doc.actions.map((a) => a.summary).join("; ")}`,
    );
    await lab.clearRecords();
    await lanTraffic(lab, checks);
    const many = await connectMany(lab, plan.portCount, INET.hosts[1], INET.manyPort, 30);
    const { psidOffset, psidLength } = plan.parameters.rule;
    const ports = new Set(many.seen.map((s) => s.sport));
    const inSet = [...ports].every((p) => portInSet(p, psidOffset, psidLength, plan.parameters.psid));
    const blocks = plan.portSets.filter(([lo, hi]) => [...ports].some((p) => p >= lo && p <= hi)).length;
    checks.add(
      `${plan.portCount} connections at once to one destination`,
      many.ok === plan.portCount && ports.size === plan.portCount && inSet && blocks === plan.portSets.length,
      `${many.ok}/${plan.portCount} succeeded from ${ports.size} distinct ports, ${inSet ? "all" : "NOT all"} in PSID ${plan.parameters.psid}'s set, over ${blocks} of ${plan.portSets.length} blocks`,
    );
    const own = await pingFromRouter(lab);
    checks.add("the router's own ping", own.ok, own.detail);
    const doctor = await lab.mapectl(NS.ce, ["doctor", "--json"], { timeoutMs: 120_000 });
    const findings =
      doctor.code === 0 || doctor.code === 6
        ? (JSON.parse(doctor.stdout) as { findings: { id: string; verdict: string }[] }).findings
        : [];
    checks.add(
      "mapectl doctor finds nothing wrong",
      doctor.code === 0,
      doctor.code === 0
        ? `${findings.length} checks passed`
        : `${findings
            .filter((f) => f.verdict === "fail")
            .map((f) => f.id)
            .join(", ")} ${doctor.stderr.trim()}`,
    );
    const counters = await lab.isp.counters();
    const drops = countedDrops(counters);
    checks.add(
      "the BR dropped nothing",
      drops.length === 0,
      drops.length === 0 ? "all drop counters 0" : drops.join(", "),
    );
    return checks.report("demo", lab, nonZero(counters));
  },
};
