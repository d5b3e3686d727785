import { CE, INET, NGN, NS } from "../addresses.ts";
import { AFTR, aftrCounters, labDsLiteAnswer, loadAftr } from "../aftr.ts";
import type { Lab } from "../lab.ts";
import { lanTraffic, pingFromRouter } from "./probes.ts";
import { Checks, nonZero, type Scenario, type ScenarioResult } from "./scenario.ts";

interface DsLiteUp {
  method: string;
  source: string;
  actions: { id: string; summary: string }[];
  plan: { tunnel: { name: string; local: string; remote: string }; aftr: { name: string | null } };
}

/**
 * `mapectl up --method ds-lite` on the CE with the default sources (HB46PP, DHCPv6, then the
 * tables: the lab's prefix is in no shipped DS-Lite service, so the AFTR must come from HB46PP), and
 * the line's DNS for the AFTR's name.
 */
export async function dsLiteUp(lab: Lab): Promise<{ doc: DsLiteUp | null; why: string }> {
  const argv = [
    "up",
    "--wan",
    CE.wan,
    "--lan",
    CE.lan,
    "--method",
    "ds-lite",
    "--resolver",
    NGN.dns,
    "--json",
  ];
  const up = await lab.mapectl(NS.ce, argv, { timeoutMs: 120_000 });
  if (up.code !== 0) return { doc: null, why: `exit ${up.code}: ${up.stderr.trim()}` };
  return { doc: JSON.parse(up.stdout) as DsLiteUp, why: "" };
}

/** The router's own IPv4 through the softwire: ping, DNS and HTTP from the ce namespace. */
async function fromRouter(lab: Lab, checks: Checks): Promise<void> {
  const host = INET.hosts[2];
  const ping = await pingFromRouter(lab);
  checks.add("the router's own ping", ping.ok, ping.detail);
  const dns = await lab.exec(
    NS.ce,
    ["kdig", `@${INET.hosts[0]}`, "+timeout=3", "+short", "www.example.com", "A"],
    {
      timeoutMs: 30_000,
    },
  );
  checks.add(
    "the router's own DNS",
    dns.stdout.trim() === INET.webAddress,
    dns.stdout.trim() || dns.stderr.trim(),
  );
  const http = await lab.exec(NS.ce, ["curl", "-sS", "-m", "8", `http://${host}/`], { timeoutMs: 30_000 });
  checks.add("the router's own TCP (HTTP)", http.code === 0, http.stdout.trim() || http.stderr.trim());
}

/** Traffic from the LAN and the router through the AFTR, translated to the AFTR's address. */
export async function dsLiteTraffic(lab: Lab, checks: Checks): Promise<void> {
  await lab.clearRecords();
  await lanTraffic(lab, checks);
  await fromRouter(lab, checks);
  const sources = [...new Set((await lab.records()).map((r) => r.src))];
  checks.add(
    "the internet sees only the AFTR's address (the AFTR translates, not the router)",
    sources.length === 1 && sources[0] === AFTR.ipv4,
    `sources seen: ${sources.join(", ") || "none"}`,
  );
}

/**
 * DS-Lite end to end: HB46PP answers DS-Lite with the AFTR's name, `mapectl up --method ds-lite`
 * resolves it with the line's DNS and builds the B4; the AFTR (registered prefixes only) carries
 * IPv4 from the LAN and the router; status and down say ds-lite and down leaves nothing.
 */
export const dsLite: Scenario = {
  name: "ds-lite",
  method: "ds-lite",
  summary:
    "HB46PP answers DS-Lite: mapectl up builds the B4 to the lab's AFTR (NAT44, registered B4s only); ping, DNS, TCP, UDP from LAN and router; status and down",
  async run(lab: Lab): Promise<ScenarioResult> {
    const checks = new Checks();
    await lab.isp.setProvisioning(labDsLiteAnswer());
    await loadAftr(lab, [{ prefix: lab.prefix, b4: null }]);
    try {
      const { doc, why } = await dsLiteUp(lab);
      const plan = doc?.plan;
      const upOk = doc?.method === "ds-lite" && plan?.tunnel.remote === AFTR.address;
      checks.add(
        "mapectl up --method ds-lite",
        upOk,
        doc === null
          ? why
          : `${plan?.tunnel.local} → ${plan?.tunnel.remote} (${plan?.aftr.name ?? "?"} from ${doc.source}): ${doc.actions.map((a) => a.id).join(", ")}`,
      );
      if (plan === undefined) return checks.report("ds-lite", lab, nonZero(await lab.isp.counters()));
      await loadAftr(lab, [{ prefix: lab.prefix, b4: plan.tunnel.local }]);
      await dsLiteTraffic(lab, checks);
      const counters = await aftrCounters(lab);
      checks.add(
        "the AFTR decapsulated and translated, and dropped no B4",
        (counters.aftr_decap ?? 0) > 0 && (counters.aftr_nat ?? 0) > 0 && counters.aftr_unknown_b4 === 0,
        JSON.stringify(counters),
      );
      await statusAndDown(lab, checks);
    } finally {
      await lab.isp.setProvisioning(null);
    }
    return checks.report("ds-lite", lab, nonZero(await lab.isp.counters()));
  },
};

/** status says ds-lite and in sync; down says ds-lite and leaves no tunnel, table or B4 address. */
export async function statusAndDown(lab: Lab, checks: Checks): Promise<void> {
  const status = await lab.mapectl(NS.ce, ["status", "--json"], { timeoutMs: 60_000 });
  const report = JSON.parse(status.stdout || "{}") as { method?: string; inSync?: boolean; drift?: string[] };
  checks.add(
    "mapectl status",
    report.method === "ds-lite" && report.inSync === true,
    `method ${report.method}, drift: ${(report.drift ?? []).join("; ") || "none"}`,
  );
  const down = await lab.mapectl(NS.ce, ["down", "--json"], { timeoutMs: 60_000 });
  const doc = JSON.parse(down.stdout || "{}") as { method?: string };
  const left = await lab.run(NS.ce, ["ip", "-br", "addr", "show"]);
  const tables = await lab.run(NS.ce, ["nft", "list", "tables"]);
  const gone =
    !/dslite/.test(left) && !/::b4/.test(left) && !/192\.0\.0\.2/.test(left) && !tables.includes("mapectl");
  checks.add(
    "mapectl down",
    down.code === 0 && doc.method === "ds-lite" && gone,
    `${down.stderr.trim()}${gone ? "nothing of DS-Lite left" : left}`,
  );
}
