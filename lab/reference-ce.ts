import { formatIpv4 } from "../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6Prefix } from "../src/mape/ipv6.ts";
import { resolveParameters, type ResolvedParameters } from "../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../src/rules/shipped.ts";
import { CE, LAN, NGN } from "./addresses.ts";

/**
 * The hand-written reference CE: what a careful person types on a Linux router for MAP-E, and the
 * knobs that reproduce the usual mistakes (the lab's faults). It is deliberately not mapectl: the
 * lab proves itself with it before it judges mapectl.
 */
export interface ReferenceCeOptions {
  /** Tunnel remote; default the BR of the rule. */
  br?: string;
  /** "none" (right), or a number: the kernel then adds a Destination Options header (RFC 2473). */
  encapLimit?: "none" | number;
  /** The CE /128 on the WAN; without it the tunnel has no usable local address. */
  ceAddressOnWan?: boolean;
  /** Host route to the BR via the NGN's link-local router. */
  routeToBr?: boolean;
  /** "lan": NAT only 192.168.1.0/24, so the router's own traffic leaves with unmapped ports. */
  natSource?: "all" | "lan";
  /** "all" port blocks (right), only the "first" block, or "none": a plain snat with no port set. */
  portBlocks?: "all" | "first" | "none";
  mtu?: number;
  mssClamp?: boolean;
}

export const REFERENCE_TUNNEL = "mape";

export interface ReferenceCeConfig {
  readonly resolved: ResolvedParameters;
  readonly br: string;
  readonly ceAddress: string;
  readonly ipv4: string;
  /** `ip -batch` lines for the ce namespace. */
  readonly ipBatch: string;
  /** nftables for the ce namespace (`nft -f`). */
  readonly nft: string;
}

export function referenceCeConfig(prefix: string, options: ReferenceCeOptions = {}): ReferenceCeConfig {
  const resolved = resolveParameters({
    prefix: parseIpv6Prefix(prefix),
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
  });
  const p = resolved.params;
  const ruleBr = p.rule.br;
  const br = options.br ?? (ruleBr === null ? null : formatIpv6(ruleBr));
  if (br === null) throw new Error(`${prefix}: the rule has no BR; give one`);
  const ce = formatIpv6(p.ceAddress);
  const ipv4 = formatIpv4(p.ipv4Address);
  const encap = options.encapLimit ?? "none";
  const t = REFERENCE_TUNNEL;
  const lines = [
    `link add name ${t} type ip6tnl mode ip4ip6 remote ${br} local ${ce} dev ${CE.wan} encaplimit ${String(encap)}`,
    `link set ${t} mtu ${options.mtu ?? 1460} up`,
  ];
  if (options.ceAddressOnWan ?? true) lines.push(`addr add ${ce}/128 dev ${CE.wan} nodad`);
  if (options.routeToBr ?? true) lines.push(`route add ${br}/128 via ${NGN.routerLinkLocal} dev ${CE.wan}`);
  lines.push(`addr add ${ipv4}/32 dev ${t}`, `route add 0.0.0.0/0 dev ${t}`);

  const from =
    (options.natSource ?? "all") === "lan"
      ? `ip saddr ${LAN.gateway.replace(/\.1$/, ".0")}/${LAN.prefixLength} `
      : "";
  const blocks = options.portBlocks ?? "all";
  const first = p.portSets[0];
  let portRule: string;
  if (blocks === "all") {
    // One rule, one map from a round-robin counter to address . port block: the kernel picks any free
    // port inside the block. `snat ip to ADDR : numgen … map { i : LO-HI }` looks the same but
    // nft 1.0.6 keeps only LO (see lab/README.md).
    const elements = p.portSets.map(([lo, hi], i) => `${i} : ${ipv4} . ${lo}-${hi}`).join(", ");
    portRule = `snat ip to numgen inc mod ${p.portSets.length} map { ${elements} }`;
  } else if (blocks === "first" && first !== undefined) {
    portRule = `snat ip to ${ipv4}:${first[0]}-${first[1]}`;
  } else {
    portRule = `snat ip to ${ipv4}`;
  }
  const nft = [
    "table ip mape",
    "delete table ip mape",
    "table ip mape {",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    oifname "${t}" ${from}meta l4proto { tcp, udp, icmp } ${portRule}`,
    `    oifname "${t}" ${from}snat ip to ${ipv4}`,
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    ...((options.mssClamp ?? true)
      ? [`    oifname "${t}" tcp flags syn tcp option maxseg size set rt mtu`]
      : []),
    "  }",
    "}",
  ].join("\n");
  return { resolved, br, ceAddress: ce, ipv4, ipBatch: lines.join("\n") + "\n", nft: nft + "\n" };
}

/** The slice of Lab that configuring a CE needs (kept narrow so faults can use it for ce2 too). */
export interface CeHost {
  run(ns: "ce" | "ce2", argv: readonly string[]): Promise<string>;
  guest: { writeFile(path: string, content: string): Promise<void> };
}

/** Configures the reference CE by hand in `ns` (ce, or ce2 for the two-CEs fault). */
export async function applyReferenceCe(
  host: CeHost,
  prefix: string,
  options: ReferenceCeOptions = {},
  ns: "ce" | "ce2" = "ce",
): Promise<ReferenceCeConfig> {
  const config = referenceCeConfig(prefix, options);
  const batch = `/run/mapectl-lab/reference-${ns}.batch`;
  const nft = `/run/mapectl-lab/reference-${ns}.nft`;
  await host.guest.writeFile(batch, config.ipBatch);
  await host.guest.writeFile(nft, config.nft);
  await host.run(ns, ["ip", "-batch", batch]);
  await host.run(ns, ["nft", "-f", nft]);
  return config;
}
