import { formatIpv6 } from "../../src/mape/ipv6.ts";
import { BORDER_RELAYS, CE, INET, NS } from "../addresses.ts";
import { connectMany } from "../clients.ts";
import { applyReferenceCe, REFERENCE_TUNNEL } from "../reference-ce.ts";
import { pingFromLan } from "./probes.ts";
import { Checks, nonZero, type Scenario } from "./scenario.ts";

const JPNE = BORDER_RELAYS.find((b) => b.id === "jpne");

/**
 * The seed user's mistake: the reference CE with JPNE's BR as the tunnel's remote. Packets leave
 * the WAN, nothing comes back, and JPNE's BR says why: the CE is not one of its own.
 */
export const wrongBr: Scenario = {
  name: "wrong-br",
  method: "map-e",
  summary: "reference CE pointed at JPNE's BR: packets leave, nothing returns, the BR counts an unknown CE",
  async run(lab) {
    if (JPNE === undefined) throw new Error("no JPNE BR in the topology");
    const checks = new Checks();
    const config = await applyReferenceCe(lab, lab.prefix, { br: JPNE.address });
    const ruleBr = config.resolved.params.rule.br;
    checks.add(
      "reference CE configured with the wrong BR",
      ruleBr !== null && formatIpv6(ruleBr) !== JPNE.address,
      `${config.ceAddress} → ${config.br}; the rule's BR is ${ruleBr === null ? "unknown" : formatIpv6(ruleBr)}`,
    );
    await lab.clearRecords();
    const before = await lab.linkStats(NS.ce, CE.wan);
    const tunnelBefore = await lab.linkStats(NS.ce, REFERENCE_TUNNEL);
    const countersBefore = await lab.isp.counters();
    const ping = await pingFromLan(lab, INET.hosts[0], 3);
    checks.add("ping 8.8.8.8 from lan gets no reply", !ping.ok, ping.detail);
    const tcp = await connectMany(lab, 2, INET.hosts[0], INET.manyPort, 4);
    checks.add("TCP to 8.8.8.8:9000 from lan gets no answer", tcp.ok === 0, `${tcp.ok}/2 connected`);
    const after = await lab.linkStats(NS.ce, CE.wan);
    const tunnelAfter = await lab.linkStats(NS.ce, REFERENCE_TUNNEL);
    const sent = after.txPackets - before.txPackets;
    // what the tunnel encapsulated, without the WAN's own neighbour discovery and MLD, whose number varies
    const encapsulated = tunnelAfter.txPackets - tunnelBefore.txPackets;
    const received = after.rxPackets - before.rxPackets;
    checks.add("packets leave the WAN", sent >= 3, `wan0 tx +${sent} packets`);
    const counters = await lab.isp.counters();
    const unknown = (counters.jpne_unknown_ce?.packets ?? 0) - (countersBefore.jpne_unknown_ce?.packets ?? 0);
    checks.add(
      "JPNE's BR drops them as from an unknown CE",
      unknown >= encapsulated && unknown >= 3,
      `jpne_unknown_ce +${unknown} packets of ${encapsulated} the tunnel sent`,
    );
    const decap = Object.entries(counters).filter(([n, c]) => n.endsWith("_decap") && c.packets > 0);
    checks.add(
      "no BR decapsulated anything",
      decap.length === 0,
      decap.length === 0 ? "all *_decap 0" : decap.map(([n, c]) => `${n}=${c.packets}`).join(", "),
    );
    const records = await lab.records();
    checks.add(
      "inet saw nothing",
      records.length === 0,
      `${records.length} records; wan0 rx +${received} packets (neighbour discovery only)`,
    );
    return checks.report("wrong-br", lab, nonZero(counters));
  },
};
