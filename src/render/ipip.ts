import { IPIP_TUNNEL_NAME, type IpipPlan } from "../plan/ipip-plan.ts";
import { nftComment, nftString } from "../text/nft.ts";
import { vyosComment } from "../text/vyos.ts";
import { dropLeftoverFold } from "./nft-fold.ts";
import { dnatRules, NFT_TABLE, nftIpv4, tunnelFilterChains } from "./nftables.ts";
import { renderCeTunnelShell } from "./shell.ts";
import { renderCeTunnelNetworkd } from "./systemd.ts";
import type { Rendered, RenderedFile } from "./targets.ts";
import { renderCeTunnelVyos, VYOS_NFT_PATH } from "./vyos.ts";

/** One sentence describing an IPIP line, for the first comment of every rendered file. */
export function ipipSummary(plan: IpipPlan): string {
  const block =
    plan.ipv4BlockLength === 32 ? "" : ` in the routed block ${plan.ipv4Block}/${plan.ipv4BlockLength}`;
  const update = plan.update === null ? "no update URL" : "registered through the provider's update URL";
  return `fixed IPv4 ${plan.ipv4Address}${block} (from ${plan.from}), CE ${plan.ceAddress}, BR ${plan.br}, ${update}`;
}

/**
 * IPIP's table: every port of the fixed address is the user's, so the LAN goes out as that address
 * (one snat rule, no port ranges), except addresses of a routed block, which are already the user's
 * own; port forwards come in on any port; the MSS clamp and inbound filter as for every method.
 */
export function renderIpipNftables(plan: IpipPlan, tunnel = plan.tunnel.name): string {
  const t = nftString(tunnel, "tunnel name");
  const address = nftIpv4(plan.ipv4Address, "IPv4 address");
  // one address is written as nft lists it back (no /32), so the running table compares equal
  const block =
    plan.ipv4BlockLength === 32
      ? nftIpv4(plan.ipv4Block, "IPv4 block")
      : `${nftIpv4(plan.ipv4Block, "IPv4 block")}/${String(plan.ipv4BlockLength)}`;
  return [
    nftComment(
      `mapectl: IPIP with the fixed IPv4 ${plan.ipv4Address} through ${tunnel} to BR ${plan.br}: the LAN masqueraded to it, all ports`,
    ),
    `table ip ${NFT_TABLE} {}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    "\tchain srcnat {",
    "\t\ttype nat hook postrouting priority srcnat - 1; policy accept;",
    `\t\toifname ${t} ip saddr != ${block} snat ip to ${address}`,
    "\t}",
    "\tchain dstnat {",
    "\t\ttype nat hook prerouting priority dstnat - 1; policy accept;",
    ...dnatRules(t, plan.forwards).map((r) => `\t\t${r}`),
    "\t}",
    ...tunnelFilterChains(tunnel, plan.tunnel.mtu, true),
    "}",
    ...dropLeftoverFold(),
    "",
  ].join("\n");
}

const CE_COMMENT =
  "# The CE address is the tunnel's IPv6 source: the provider registered it, and the BR sends the fixed address only to it.";

/** A POSIX sh script that builds IPIP as `mapectl up` would, safe to run twice. */
export function renderIpipShell(plan: IpipPlan): string {
  return renderCeTunnelShell(plan, {
    title: `IPIP: ${ipipSummary(plan)}.`,
    nft: renderIpipNftables(plan),
    ipv4PrefixLength: plan.ipv4PrefixLength,
    ceComment: CE_COMMENT,
    natComment:
      "# The masquerade to the fixed address and the inbound filter, last: replacing the table is one atomic transaction.",
    upMessage: `IPIP is up: IPv4 ${plan.ipv4Address} through ${plan.tunnel.name}${plan.update === null ? "" : " (run mapectl up, or call the provider's update URL, to register the prefix)"}`,
  });
}

/** systemd-networkd files for IPIP: MAP-E's layout with the fixed address and IPIP's table. */
export function renderIpipNetworkd(plan: IpipPlan): RenderedFile[] {
  return renderCeTunnelNetworkd(plan, {
    title: `IPIP: ${ipipSummary(plan)}.`,
    ipv4: `${plan.ipv4Address}/${plan.ipv4PrefixLength}`,
    nft: renderIpipNftables(plan),
    nftWhat: "IPIP masquerade",
  });
}

/**
 * VyOS: the tunnel, CE address and route as VyOS configuration, and the masquerade and filter as
 * mapectl's nft table loaded at boot, as for MAP-E (one table layout for every method keeps doctor's
 * and the daemon's view of the host the same).
 */
export function renderIpipVyos(plan: IpipPlan): Rendered {
  return renderCeTunnelVyos(plan, {
    title: `IPIP: ${ipipSummary(plan)}.`,
    defaultTunnelName: IPIP_TUNNEL_NAME,
    ipv4PrefixLength: plan.ipv4PrefixLength,
    ceComment: CE_COMMENT,
    natLines: [
      vyosComment(
        `The masquerade to ${plan.ipv4Address} and the inbound filter are mapectl's own nft table in ${VYOS_NFT_PATH},`,
      ),
      "# the same table `mapectl up` loads on any Linux router, so doctor and the daemon see one layout.",
      vyosComment(
        plan.update === null
          ? "This line has no update URL: the provider registered the CE address itself."
          : "The provider's update URL must be called with the new prefix after every change: `mapectl up` does it.",
      ),
    ],
    nft: (tun) => renderIpipNftables(plan, tun),
  });
}
