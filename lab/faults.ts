import { BORDER_RELAYS, CE, NGN, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import {
  applyReferenceCe,
  REFERENCE_TUNNEL,
  type ReferenceCeConfig,
  type ReferenceCeOptions,
} from "./reference-ce.ts";

/**
 * Faults that later scenarios inject into a running CE, whoever configured it (the reference CE or
 * mapectl): each reproduces one way a real MAP-E set-up fails. Faults that are a property of the
 * CE's own configuration (NAT limited to the LAN, MTU 1500 without MSS clamping, one port block)
 * are ReferenceCeOptions instead: see CONFIG_FAULTS.
 */

const JPNE_BR = BORDER_RELAYS.find((b) => b.id === "jpne")?.address ?? "2404:9200:225:100::64";

interface TunnelInfo {
  name: string;
  local: string;
  remote: string;
}

/** The CE's MAP-E tunnel: the one ip6tnl in ip4ip6 mode that is not the fallback device. */
export async function ceTunnel(lab: Lab, ns: "ce" | "ce2" = NS.ce): Promise<TunnelInfo> {
  const links = JSON.parse(await lab.run(ns, ["ip", "-j", "-d", "link", "show", "type", "ip6tnl"])) as {
    ifname: string;
    linkinfo?: { info_data?: { local?: string; remote?: string; proto?: string } };
  }[];
  const tunnel = links.find((l) => l.ifname !== "ip6tnl0");
  const data = tunnel?.linkinfo?.info_data;
  if (tunnel === undefined || data === undefined) throw new Error(`no MAP-E tunnel (ip6tnl) in ${ns}`);
  return { name: tunnel.ifname, local: data.local ?? "", remote: data.remote ?? "" };
}

/** Points the tunnel at another BR (default JPNE's, the seed user's mistake) and routes to it. */
export async function wrongBr(lab: Lab, br: string = JPNE_BR): Promise<void> {
  const t = await ceTunnel(lab);
  await lab.run(NS.ce, ["ip", "-6", "tunnel", "change", t.name, "remote", br]);
  await lab.run(NS.ce, [
    "ip",
    "-6",
    "route",
    "replace",
    `${br}/128`,
    "via",
    NGN.routerLinkLocal,
    "dev",
    CE.wan,
  ]);
}

/** Removes the CE /128 (the tunnel's local address) from the WAN: nothing leaves any more. */
export async function removeCeAddress(lab: Lab): Promise<void> {
  const t = await ceTunnel(lab);
  await lab.run(NS.ce, ["ip", "-6", "addr", "del", `${t.local}/128`, "dev", CE.wan]);
}

/** No route to the BR: the explicit BR route is gone and the CE stops taking a default route from RA. */
export async function noRouteToBr(lab: Lab): Promise<void> {
  const t = await ceTunnel(lab);
  await lab.run(NS.ce, ["sysctl", "-q", "-w", `net.ipv6.conf.${CE.wan}.accept_ra_defrtr=0`]);
  await lab.exec(NS.ce, ["ip", "-6", "route", "del", `${t.remote}/128`]);
  await lab.exec(NS.ce, ["ip", "-6", "route", "del", "default"]);
}

/** Strict BRs (drop a Destination Options header) and a tunnel that adds one (encaplimit 4). */
export async function strictBrWithEncapLimit(lab: Lab): Promise<void> {
  await lab.isp.setBrOptions({ strictEncapLimit: true });
  const t = await ceTunnel(lab);
  await lab.run(NS.ce, ["ip", "-6", "tunnel", "change", t.name, "encaplimit", "4"]);
}

/**
 * A second router on the same line configured for the same prefix (the seed user's WXR in router
 * mode): ce2 on the ngn's line bridge with the reference CE, i.e. the same CE address.
 */
export async function secondCeOnLine(lab: Lab, options: ReferenceCeOptions = {}): Promise<void> {
  const batch = "/run/mapectl-lab/ce2.batch";
  await lab.guest.writeFile(
    batch,
    [
      "netns add ce2",
      `link add ${CE.wan} netns ce2 address ${CE.wanMac2} type veth peer name ce2-0 netns ${NS.ngn}`,
    ].join("\n") + "\n",
  );
  await lab.run(null, ["ip", "-batch", batch]);
  await lab.run("ce2", [
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.ip_forward=1",
    "net.ipv6.conf.all.forwarding=1",
    `net.ipv6.conf.${CE.wan}.accept_ra=2`,
  ]);
  await lab.run(NS.ngn, ["ip", "link", "set", "ce2-0", "master", NGN.bridge, "up"]);
  await lab.run("ce2", ["ip", "link", "set", "lo", "up"]);
  await lab.run("ce2", ["ip", "link", "set", CE.wan, "up"]);
  await applyReferenceCe(lab, lab.prefix, options, "ce2");
}

export async function removeSecondCe(lab: Lab): Promise<void> {
  await lab.exec(null, ["ip", "netns", "del", "ce2"]);
}

/** Faults that are a CE's own configuration, as options of the reference CE. */
export const CONFIG_FAULTS = {
  "nat-lan-only": { natSource: "lan" },
  "mtu-1500-no-mss-clamp": { mtu: 1500, mssClamp: false },
  "one-port-block": { portBlocks: "first" },
  "no-port-set": { portBlocks: "none" },
  "encaplimit-default": { encapLimit: 4 },
  "no-ce-address": { ceAddressOnWan: false },
  "wrong-br": { br: JPNE_BR },
} as const satisfies Record<string, ReferenceCeOptions>;

/**
 * NAT faults that the reference CE's options do not cover, as variants of its nftables: "no-icmp"
 * translates only tcp and udp into the port set (ICMP falls through to the plain snat and keeps its
 * echo id), "masquerade" replaces the NAT with `masquerade` (every source port kept).
 */
export type NatVariant = "no-icmp" | "masquerade";

export function referenceNatVariant(nft: string, variant: NatVariant): string {
  if (variant === "no-icmp") {
    const out = nft.replace("meta l4proto { tcp, udp, icmp }", "meta l4proto { tcp, udp }");
    if (out === nft) throw new Error("the reference CE's NAT rule has no { tcp, udp, icmp } to narrow");
    return out;
  }
  const lines = nft.split("\n");
  const first = lines.findIndex((l) => l.includes(" snat "));
  if (first < 0) throw new Error("the reference CE's NAT has no snat rule to replace");
  const kept = lines.filter((l) => !l.includes(" snat "));
  kept.splice(first, 0, `    oifname "${REFERENCE_TUNNEL}" masquerade`);
  return kept.join("\n");
}

/** The reference CE with one of the NAT variants above (its whole table is replaced in one nft -f). */
export async function applyReferenceCeWithNat(
  lab: Lab,
  variant: NatVariant,
  options: ReferenceCeOptions = {},
): Promise<ReferenceCeConfig> {
  const config = await applyReferenceCe(lab, lab.prefix, options);
  await lab.run(NS.ce, ["nft", "-f", "-"], { input: referenceNatVariant(config.nft, variant) });
  return config;
}

/** The seed user's CE address and IPv4 (BIGLOBE, the lab's default /56, PSID 65). */
export const SEED = { ceAddress: "2404:7a82:4d02:4100:85:d10d:200:4100", ipv4: "133.209.13.2" } as const;

/**
 * The seed's own configuration, typed in with the work log's commands (§2 and §3 with eth1 → wan0
 * and the NGN's router fe80::1): the CE /128, a tunnel "mape" to JPNE's BR with the default
 * encaplimit, and §4's VyOS `nat source rule 200/210` as the vyos_nat table VyOS generates.
 */
export async function seedConfiguration(lab: Lab): Promise<void> {
  const tunnel = "mape";
  const tunnelAdd = ["ip", "-6", "tunnel", "add", tunnel, "mode", "ip4ip6", "remote", JPNE_BR];
  const route = ["ip", "-6", "route", "add", `${JPNE_BR}/128`, "via", NGN.routerLinkLocal, "dev", CE.wan];
  const commands = [
    ["ip", "-6", "addr", "add", `${SEED.ceAddress}/128`, "dev", CE.wan],
    [...tunnelAdd, "local", SEED.ceAddress, "dev", CE.wan],
    ["ip", "addr", "add", `${SEED.ipv4}/32`, "dev", tunnel],
    ["ip", "link", "set", tunnel, "up"],
    ["ip", "route", "add", "default", "dev", tunnel],
    route,
  ];
  for (const argv of commands) await lab.run(NS.ce, argv);
  const snat = `counter snat ip to ${SEED.ipv4}:5136-5151`;
  await lab.run(NS.ce, ["nft", "-f", "-"], {
    input: [
      "table ip vyos_nat {",
      "\tchain POSTROUTING {",
      "\t\ttype nat hook postrouting priority srcnat; policy accept;",
      `\t\toifname "${tunnel}" ip saddr 192.168.1.0/24 meta l4proto { tcp, udp } ${snat} comment "SRC-NAT-200"`,
      `\t\toifname "${tunnel}" meta l4proto { tcp, udp } ${snat} comment "SRC-NAT-210"`,
      "\t}",
      "}",
      "",
    ].join("\n"),
  });
}

/** Moves the CE address `from` → `to` on the WAN and as the tunnel's local (`to` without DAD). */
export async function moveCeAddress(lab: Lab, from: string, to: string): Promise<void> {
  const t = await ceTunnel(lab);
  await lab.run(NS.ce, ["ip", "-6", "addr", "add", `${to}/128`, "dev", CE.wan, "nodad"]);
  await lab.run(NS.ce, ["ip", "-6", "tunnel", "change", t.name, "local", to]);
  await lab.run(NS.ce, ["ip", "-6", "addr", "del", `${from}/128`, "dev", CE.wan]);
}
