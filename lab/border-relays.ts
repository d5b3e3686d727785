import { computeParameters, readCeAddress, ceAddressForIpv4Psid } from "../src/mape/compute.ts";
import { formatIpv4 } from "../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6Prefix } from "../src/mape/ipv6.ts";
import { portSets, type PortRange } from "../src/mape/port-set.ts";
import { shippedRuleTable } from "../src/rules/shipped.ts";
import { selectRule } from "../src/rules/table.ts";
import { BORDER_RELAYS, BR_NS, type BorderRelayId } from "./addresses.ts";

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
}

/** Every drop reason has a named counter per BR: `<br>_<reason>`. */
export const DROP_REASONS = ["unknown_ce", "dstopt", "bad_src_addr", "bad_src_port", "bad_icmp_id"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

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

  out.push("  chain outer {", "    type filter hook prerouting priority -300; policy accept;");
  for (const relay of BORDER_RELAYS) {
    const match = `ip6 daddr ${relay.address} meta l4proto 4`;
    out.push(`    ${match} ip6 saddr != @served_${relay.id} counter name ${relay.id}_unknown_ce drop`);
    if (options.strictEncapLimit) {
      out.push(`    ${match} exthdr dst exists counter name ${relay.id}_dstopt drop`);
    }
    out.push(`    ${match} counter name ${relay.id}_decap`);
  }
  out.push("  }");

  out.push("  chain from_ce {", "    type filter hook forward priority 0; policy accept;");
  for (const ce of served) {
    const iif = `iifname "${ce.tunnel}"`;
    out.push(
      `    ${iif} ip saddr != ${ce.ipv4} counter name ${ce.br}_bad_src_addr drop`,
      `    ${iif} meta l4proto { tcp, udp } th sport != { ${ranges(ce.portSets)} } counter name ${ce.br}_bad_src_port drop`,
      `    ${iif} icmp type echo-request icmp id != { ${ranges(ce.portSets)} } counter name ${ce.br}_bad_icmp_id drop`,
      `    oifname "${ce.tunnel}" counter name ${ce.br}_encap`,
    );
  }
  out.push("  }");

  // The echo id sits where a transport header's destination port would be only for TCP/UDP, so
  // echo replies get their own lookup (icmp id) into the same ranges.
  out.push(
    "  chain to_ce {",
    "    type filter hook prerouting priority mangle; policy accept;",
    `    iifname "${BR_NS.inetIface}" meta l4proto { tcp, udp } meta mark set ip daddr . th dport map @ports_to_ce`,
  );
  for (const ce of served) {
    out.push(
      `    iifname "${BR_NS.inetIface}" ip daddr ${ce.ipv4} icmp type echo-reply icmp id { ${ranges(ce.portSets)} } meta mark set ${ce.mark}`,
    );
  }
  out.push(`    iifname "${BR_NS.inetIface}" meta nfproto ipv4 meta mark 0 counter name no_ce drop`, "  }");
  out.push("}");
  return out.join("\n") + "\n";
}
