import { computeParameters, readCeAddress, ceAddressForIpv4Psid } from "../src/mape/compute.ts";
import { formatIpv4 } from "../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6Prefix } from "../src/mape/ipv6.ts";
import { portSets, type PortRange } from "../src/mape/port-set.ts";
import { shippedRuleTable } from "../src/rules/shipped.ts";
import { selectRule } from "../src/rules/table.ts";
import { AFTR_IPV4, BORDER_RELAYS, BR_NS, IPIP_LAB, type BorderRelayId } from "./addresses.ts";

/** One CE that a BR serves: what the BR accepts from it and where it sends its replies. */
export interface ServedCe {
  readonly br: BorderRelayId;
  readonly brAddress: string;
  readonly prefix: string;
  readonly ceAddress: string;
  readonly ipv4: string;
  readonly psid: number;
  readonly portSets: readonly PortRange[];
  /** The BR's tunnel to this CE, and the fwmark/table that routes replies into it. */
  readonly tunnel: string;
  readonly mark: number;
}

export interface BrOptions {
  /** Drop packets with a Destination Options header (a tunnel without `encaplimit none`). */
  readonly strictEncapLimit: boolean;
  /**
   * Also hand every dropped packet to NFLOG group DROP_LOG_GROUP (in the same rule as its
   * counter, so the two never disagree): a capture on `nflog:<group>` then names each drop with
   * its time and content, where a counter only says how many.
   */
  readonly logDrops?: boolean;
}

/** The NFLOG group the BRs' drops go to with `logDrops`. */
export const DROP_LOG_GROUP = 46;

/** Every drop reason has a named counter per BR: `<br>_<reason>`. */
export const DROP_REASONS = ["unknown_ce", "dstopt", "bad_src_addr", "bad_src_port", "bad_icmp_id"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** The drop counters (all but `<br>_decap` and `<br>_encap`) that counted something, as `name=packets`. */
export function countedDrops(counters: Readonly<Record<string, { readonly packets: number }>>): string[] {
  return Object.entries(counters)
    .filter(([name, c]) => !/_(decap|encap)$/.test(name) && c.packets > 0)
    .map(([name, c]) => `${name}=${c.packets}`);
}

/**
 * The CEs each BR serves for the prefixes the lab delegates: the BR of the rule that the shipped
 * table selects for a prefix serves the CE address of that rule. The BR then re-reads the address
 * the way a strict BR does (readCeAddress: the interface ID must agree with the EA bits) and derives
 * the CE's IPv4 and PSID from it, not from the prefix.
 */
export function servedCes(prefixes: readonly string[]): ServedCe[] {
  const table = shippedRuleTable();
  const served: ServedCe[] = [];
  for (const text of prefixes) {
    const prefix = parseIpv6Prefix(text);
    const match = selectRule(table, prefix);
    if (match === null || match.rule.br === null) continue;
    const relay = BORDER_RELAYS.find((r) => r.address === formatIpv6(match.rule.br ?? 0n));
    if (relay === undefined) continue;
    const layout = match.service?.ceInterfaceId ?? "draft-03";
    const params = computeParameters(prefix, match.rule, layout);
    const fields = readCeAddress(match.rule, params.ceAddress, layout);
    if (fields === null) throw new Error(`lab: the BR cannot read its own CE address for ${text}`);
    // The reply direction must lead back to the same address, or the BR would encapsulate elsewhere.
    if (ceAddressForIpv4Psid(match.rule, fields.ipv4, fields.psid, layout) !== params.ceAddress) {
      throw new Error(`lab: the reply direction of ${text} does not give back its CE address`);
    }
    if (served.some((s) => s.ceAddress === formatIpv6(params.ceAddress))) continue;
    const index = served.length;
    served.push({
      br: relay.id,
      brAddress: relay.address,
      prefix: text,
      ceAddress: formatIpv6(params.ceAddress),
      ipv4: formatIpv4(fields.ipv4),
      psid: fields.psid,
      portSets: portSets(match.rule.psidOffset, match.rule.psidLength, fields.psid),
      tunnel: `brt${index}`,
      mark: 0x100 + index,
    });
  }
  return served;
}

function ranges(sets: readonly PortRange[]): string {
  return sets.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(", ");
}

/** `ip -batch` lines for the br namespace: one ip6tnl per served CE and its reply route. */
export function brTunnelBatch(served: readonly ServedCe[]): string {
  const lines: string[] = [];
  for (const ce of served) {
    lines.push(
      `link add name ${ce.tunnel} type ip6tnl mode ip4ip6 remote ${ce.ceAddress} local ${ce.brAddress} dev ${BR_NS.ngnIface} encaplimit none`,
      `link set ${ce.tunnel} mtu 1460 up`,
      `route add default dev ${ce.tunnel} table ${ce.mark}`,
      `rule add fwmark ${ce.mark} table ${ce.mark} priority 100`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The tunnels and rules brTunnelBatch made, to delete before a reload. */
export function brTunnelTeardown(served: readonly ServedCe[]): string {
  return (
    served
      .flatMap((ce) => [`rule del fwmark ${ce.mark} table ${ce.mark} priority 100`, `link del ${ce.tunnel}`])
      .join("\n") + "\n"
  );
}

/**
 * The BRs' nftables ruleset. Outer IPv6: a BR decapsulates only from the CEs it serves; the rest
 * ends in `<br>_unknown_ce` (silently, as the real ones do). Inner IPv4 from a CE must carry the
 * CE's address and a source port or echo id of its port set. Replies are marked by destination
 * address and port (or echo id) and routed into the tunnel of the CE that owns them.
 *
 * Every packet is dispatched by one verdict-map lookup (BR address, tunnel name) to the chain of
 * its BR or CE, so a packet costs the same few rule evaluations however many BRs and CEs the lab
 * serves: real BRs check at line rate, and the throughput benchmark is meant to weigh the CE's
 * MAP-E, not the lab's filter walking a list under emulation.
 */
export function brRuleset(served: readonly ServedCe[], options: BrOptions): string {
  const out: string[] = [];
  out.push("table inet mapebr", "delete table inet mapebr", "table inet mapebr {");
  for (const relay of BORDER_RELAYS) {
    for (const reason of [...DROP_REASONS, "decap", "encap"]) out.push(`  counter ${relay.id}_${reason} {}`);
    const mine = served.filter((s) => s.br === relay.id).map((s) => s.ceAddress);
    out.push(`  set served_${relay.id} {`, "    type ipv6_addr");
    if (mine.length > 0) out.push(`    elements = { ${mine.join(", ")} }`);
    out.push("  }");
  }
  out.push("  counter no_ce {}");
  const portElements = served.flatMap((ce) =>
    ce.portSets.map(([a, b]) => `${ce.ipv4} . ${a}-${b} : ${ce.mark}`),
  );
  out.push("  map ports_to_ce {", "    type ipv4_addr . inet_service : mark", "    flags interval");
  if (portElements.length > 0) out.push(`    elements = { ${portElements.join(", ")} }`);
  out.push("  }");
  const echoElements = served.flatMap((ce) =>
    ce.portSets.map(([a, b]) => `${ce.ipv4} . ${a}-${b} : ${ce.mark}`),
  );
  out.push("  map echo_to_ce {", "    typeof ip daddr . icmp id : meta mark", "    flags interval");
  if (echoElements.length > 0) out.push(`    elements = { ${echoElements.join(", ")} }`);
  out.push("  }");

  const relayVerdicts = BORDER_RELAYS.map((r) => `${r.address} : jump in_${r.id}`).join(", ");
  out.push(
    "  chain outer {",
    "    type filter hook prerouting priority -300; policy accept;",
    `    meta l4proto 4 ip6 daddr vmap { ${relayVerdicts} }`,
    "  }",
  );
  const drop = (name: string) =>
    `counter name ${name}${options.logDrops === true ? ` log prefix "${name} " group ${DROP_LOG_GROUP}` : ""} drop`;
  for (const relay of BORDER_RELAYS) {
    out.push(`  chain in_${relay.id} {`);
    out.push(`    ip6 saddr != @served_${relay.id} ${drop(`${relay.id}_unknown_ce`)}`);
    if (options.strictEncapLimit) out.push(`    exthdr dst exists ${drop(`${relay.id}_dstopt`)}`);
    out.push(`    counter name ${relay.id}_decap`, "  }");
  }

  out.push("  chain from_ce {", "    type filter hook forward priority 0; policy accept;");
  if (served.length > 0) {
    const fromVerdicts = served.map((ce) => `"${ce.tunnel}" : jump from_${ce.tunnel}`).join(", ");
    const toVerdicts = served.map((ce) => `"${ce.tunnel}" : jump to_${ce.tunnel}`).join(", ");
    out.push(`    iifname vmap { ${fromVerdicts} }`, `    oifname vmap { ${toVerdicts} }`);
  }
  out.push("  }");
  for (const ce of served) {
    out.push(
      `  chain from_${ce.tunnel} {`,
      `    ip saddr != ${ce.ipv4} ${drop(`${ce.br}_bad_src_addr`)}`,
      `    meta l4proto { tcp, udp } th sport != { ${ranges(ce.portSets)} } ${drop(`${ce.br}_bad_src_port`)}`,
      `    icmp type echo-request icmp id != { ${ranges(ce.portSets)} } ${drop(`${ce.br}_bad_icmp_id`)}`,
      "  }",
      `  chain to_${ce.tunnel} {`,
      `    counter name ${ce.br}_encap`,
      "  }",
    );
  }

  out.push(
    "  chain to_ce {",
    "    type filter hook prerouting priority mangle; policy accept;",
    `    iifname != "${BR_NS.inetIface}" return`,
    "    meta nfproto != ipv4 return",
    // the fixed-IPv4 IPIP line's block is routed to its own BR's tunnel (lab/ipip-provider.ts)
    `    ip daddr ${IPIP_LAB.ipv4Block} return`,
    // the AFTR's translated flows (lab/aftr.ts) find their softwire by their own mark
    `    ip daddr ${AFTR_IPV4} return`,
    "    meta l4proto { tcp, udp } meta mark set ip daddr . th dport map @ports_to_ce",
    "    icmp type echo-reply meta mark set ip daddr . icmp id map @echo_to_ce",
    "    meta mark 0 counter name no_ce drop",
    "  }",
  );
  out.push("}");
  return out.join("\n") + "\n";
}
