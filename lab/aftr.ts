import { AFTR_ADDRESS, AFTR_IPV4, AFTR_NAME, BR_NS, INET, NGN, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import { parseJson } from "./parse-json.ts";
import { softwireEndpointRuleset } from "./softwire-endpoint.ts";

/**
 * The lab's AFTR (RFC 6333): in the br namespace beside the BRs, an ip6tnl softwire per known B4
 * and NAT44 to one ISP-side IPv4 address. It decapsulates only from registered CE prefixes (the
 * rest is counted in `aftr_unknown_b4` and dropped, as an AFTR does for lines it does not serve);
 * replies find their softwire by the connection's mark, as a real AFTR finds its B4 by the flow.
 */
export const AFTR = {
  /** The AFTR's IPv6 address, on lo in the br namespace; the lab's DNS names it. */
  address: AFTR_ADDRESS,
  name: AFTR_NAME,
  /** The ISP-side IPv4 address the AFTR translates to. */
  ipv4: AFTR_IPV4,
  table: "aftr",
} as const;

/** One registered B4: the line's prefix and, once the B4 is up, its softwire's IPv6 source. */
export interface RegisteredB4 {
  readonly prefix: string;
  readonly b4: string | null;
}

const MARK_BASE = 0x300;

function softwire(index: number): string {
  return `aftr${index}`;
}

/** The AFTR's nftables table: the B4 filter with its counters, the flow's mark, the NAT44. */
export function aftrRuleset(registered: readonly RegisteredB4[], address: string = AFTR.address): string {
  const tunnels = registered.flatMap((r, i) => (r.b4 === null ? [] : [i]));
  const marks = tunnels.map((i) => `"${softwire(i)}" : ${MARK_BASE + i}`).join(", ");
  const names = tunnels.map((i) => `"${softwire(i)}"`).join(", ");
  return softwireEndpointRuleset({
    table: AFTR.table,
    address,
    unknownCounter: "aftr_unknown_b4",
    decapCounter: "aftr_decap",
    counters: ["aftr_nat"],
    served: { name: "b4_prefixes", interval: true, elements: registered.map((r) => r.prefix) },
    chains: [
      "  chain flows {",
      "    type filter hook prerouting priority mangle; policy accept;",
      ...(tunnels.length > 0 ? [`    ct state new ct mark set iifname map { ${marks} }`] : []),
      `    iifname "${BR_NS.inetIface}" ip daddr ${AFTR.ipv4} meta mark set ct mark`,
      "  }",
      "  chain nat44 {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      ...(tunnels.length > 0
        ? [
            `    iifname { ${names} } oifname "${BR_NS.inetIface}" counter name aftr_nat snat ip to ${AFTR.ipv4}`,
          ]
        : []),
      "  }",
    ],
  });
}

/**
 * Loads (or reloads) the AFTR for the registered lines: its address and the NGN's route to it, a
 * softwire per B4 whose source is known, the policy routes of their replies and the ruleset.
 * `address` moves the softwires' end to another address (AFTR_SECOND_ADDRESS: the AFTR renumbered);
 * the old one stays on lo but no softwire ends there any more.
 */
export async function loadAftr(
  lab: Lab,
  registered: readonly RegisteredB4[],
  address: string = AFTR.address,
): Promise<void> {
  await lab.exec(NS.br, ["ip", "-6", "addr", "replace", `${address}/128`, "dev", "lo"]);
  await lab.run(NS.ngn, [
    "ip",
    "-6",
    "route",
    "replace",
    `${address}/128`,
    "via",
    BR_NS.transit,
    "dev",
    NGN.brIface,
  ]);
  const links = parseJson(await lab.run(NS.br, ["ip", "-j", "link", "show"]), "ip link") as {
    ifname: string;
  }[];
  for (const link of links.filter((l) => /^aftr\d+$/.test(l.ifname))) {
    await lab.run(NS.br, ["ip", "link", "del", "dev", link.ifname]);
  }
  for (const [i, r] of registered.entries()) {
    if (r.b4 === null) continue;
    const name = softwire(i);
    const mark = String(MARK_BASE + i);
    await lab.run(NS.br, [
      "ip",
      "link",
      "add",
      name,
      "mtu",
      "1460",
      "type",
      "ip6tnl",
      "mode",
      "ip4ip6",
      "local",
      address,
      "remote",
      r.b4,
      "dev",
      BR_NS.ngnIface,
      "encaplimit",
      "none",
    ]);
    await lab.run(NS.br, ["ip", "link", "set", name, "up"]);
    await lab.run(NS.br, ["ip", "-4", "route", "replace", "default", "dev", name, "table", mark]);
    await lab.exec(NS.br, ["ip", "-4", "rule", "del", "fwmark", mark]);
    await lab.run(NS.br, ["ip", "-4", "rule", "add", "fwmark", mark, "table", mark, "priority", "90"]);
  }
  await lab.run(NS.br, ["nft", "-f", "-"], { input: aftrRuleset(registered, address) });
}

/** The AFTR's counters (aftr_unknown_b4, aftr_decap, aftr_nat) in packets. */
export async function aftrCounters(lab: Lab): Promise<Record<string, number>> {
  const text = await lab.run(NS.br, ["nft", "-j", "list", "counters", "table", "inet", AFTR.table]);
  const doc = parseJson(text, "nft -j list counters")[0] as {
    nftables?: { counter?: { name: string; packets: number } }[];
  };
  const out: Record<string, number> = {};
  for (const item of doc.nftables ?? [])
    if (item.counter !== undefined) out[item.counter.name] = item.counter.packets;
  return out;
}

/** HB46PP's DS-Lite answer for the lab's line: its AFTR by name (the lab's DNS resolves it). */
export function labDsLiteAnswer(): Record<string, unknown> {
  return { enabler_name: "mapectl lab VNE", ttl: 86400, order: ["dslite"], dslite: { aftr: AFTR.name } };
}

/** The NGN's resolver, which serves the AFTR's name. */
export const AFTR_RESOLVER = NGN.dns;
/** An IPv4 host of the lab's internet, for the proofs. */
export const AFTR_PROBE_HOST = INET.hosts[2];
