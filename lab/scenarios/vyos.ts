import { NS } from "../addresses.ts";
import { countedDrops } from "../border-relays.ts";
import { VyosRouter } from "../vyos/router.ts";
import { probeLine, renderedVyos, type Probe } from "../vyos/rehearse.ts";
import { resolveParameters } from "../../src/provision/parameters.ts";
import { parseIpv6Prefix } from "../../src/mape/ipv6.ts";
import { formatIpv4 } from "../../src/mape/ipv4.ts";
import { shippedNotMape, shippedRuleTable } from "../../src/rules/shipped.ts";
import { Checks, nonZero, type Scenario } from "./scenario.ts";

const BOOT_FILE = "/config/mapectl/mapectl.nft";

function addProbes(checks: Checks, step: string, probes: readonly Probe[]): void {
  for (const p of probes) checks.add(`${step}: ${p.name}`, p.passed, p.detail);
}

/**
 * The CE as a VyOS router (lab/vyos): `render --target vyos`'s lines committed the way VyOS commits
 * them, `mapectl install --target vyos`, the boot file loaded; then traffic, the last NAT rule
 * deleted, and a reboot in VyOS's order (configuration, then the postconfig script).
 */
export const vyos: Scenario = {
  name: "vyos",
  method: "map-e",
  summary: "the CE as VyOS: rendered set lines committed, mapectl install, a NAT rule deleted, a reboot",
  async run(lab) {
    const checks = new Checks();
    const p = resolveParameters({
      prefix: parseIpv6Prefix(lab.prefix),
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
    }).params;
    const line = {
      ipv4: formatIpv4(p.ipv4Address),
      psid: p.psid,
      psidOffset: p.rule.psidOffset,
      psidLength: p.rule.psidLength,
    };
    const router = new VyosRouter(lab);
    await router.firstBoot();
    const ok = await checks.try("render --target vyos, committed", async () => {
      const { lines } = await renderedVyos(lab, lab.prefix);
      await router.configure([
        "set nat source rule 100 outbound-interface name eth2",
        "set nat source rule 100 translation address masquerade",
        ...lines,
      ]);
      return { passed: true, detail: `${lines.filter((l) => l.startsWith("set ")).length} set lines` };
    });
    if (!ok) return checks.report("vyos", lab, {});
    await checks.try("mapectl install --target vyos writes the boot file", async () => {
      const r = await lab.mapectl(NS.ce, ["install", "--target", "vyos", "--wan", "wan0", "--lan", "lan0"], {
        timeoutMs: 120_000,
      });
      const loaded = r.code === 0 ? await lab.exec(NS.ce, ["nft", "-f", BOOT_FILE]) : null;
      return {
        passed: r.code === 0 && loaded?.code === 0,
        detail: r.code === 0 ? `${BOOT_FILE} loaded: ${loaded?.stderr.trim() || "ok"}` : r.stderr.trim(),
      };
    });
    addProbes(checks, "installed", await probeLine(lab, line));
    await router.configure(["delete nat"]);
    addProbes(checks, "last nat rule deleted", await probeLine(lab, line, true));
    await router.reboot();
    addProbes(checks, "after a reboot", await probeLine(lab, line, true));
    const counters = await lab.isp.counters();
    const drops = countedDrops(counters);
    checks.add("the BRs dropped nothing", drops.length === 0, drops.join(", ") || "all drop counters 0");
    return checks.report("vyos", lab, nonZero(counters));
  },
};
