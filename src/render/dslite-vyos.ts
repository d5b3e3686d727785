import { DS_LITE_TUNNEL_NAME, WAN_ADDRESS_PLACEHOLDER, type DsLitePlan } from "../plan/dslite-plan.ts";
import { vyosComment } from "../text/vyos.ts";
import { dsLiteSummary } from "./dslite.ts";
import type { Rendered } from "./targets.ts";
import {
  VYOS_CONFIGURE_FILE,
  vyosIpv4Default,
  vyosLine,
  vyosStatePolicyLines,
  vyosCeAddress,
  vyosTunnelLines,
  vyosTunnelName,
  wanPath,
} from "./vyos.ts";

/**
 * DS-Lite on VyOS 1.4/1.5 is VyOS's own configuration alone: an ipip6 tunnel to the AFTR with the B4
 * address, clamp-mss-to-pmtu and the default route. There is no NAPT to load (the AFTR translates),
 * so no nft file and no boot script.
 */
export function renderDsLiteVyos(plan: DsLitePlan): Rendered {
  const tun = vyosTunnelName(plan.tunnel.name);
  const wan = wanPath(plan.wan); // the same refusal of a WAN VyOS cannot name as for MAP-E
  const warnings =
    tun !== plan.tunnel.name && plan.tunnel.name !== DS_LITE_TUNNEL_NAME
      ? [
          `VyOS names tunnels tunN: the tunnel is ${tun}, not ${plan.tunnel.name} (--tunnel-name tunN picks another)`,
        ]
      : [];
  const lines = [
    vyosComment(`DS-Lite: ${dsLiteSummary(plan)}.`),
    "# Rendered by `mapectl render --target vyos` for VyOS 1.4 and 1.5. Paste the set commands in",
    "# configure mode, look at them with `compare`, then `commit` and `save`.",
    ...(tun === plan.tunnel.name
      ? []
      : [
          vyosComment(
            `VyOS names tunnels tunN, so the tunnel is ${tun}; if ${tun} is taken, render again with --tunnel-name tunN.`,
          ),
        ]),
    ...(plan.tunnel.local === WAN_ADDRESS_PLACEHOLDER
      ? [
          vyosComment(
            `REPLACE ${WAN_ADDRESS_PLACEHOLDER}: this was rendered away from the router. It is ${plan.wan}'s global`,
          ),
          "# IPv6 address, from: show interfaces ethernet",
        ]
      : []),
    ...(plan.addsSource === true
      ? [
          "# The line gives the WAN no address of its own (a delegated prefix only): the tunnel leaves from",
          "# ::b4 in the prefix's last /64, a /128 on the WAN, as `mapectl up` adds it. When the line's prefix",
          "# changes, delete the old one and set this and source-address again.",
          vyosCeAddress(wan, plan.tunnel.local),
        ]
      : [
          "# The tunnel leaves from the WAN's own address: when the line's prefix changes, set source-address again.",
        ]),
    "",
    "# ip4ip6 to the AFTR. encaplimit none: VyOS adds the encapsulation-limit option by default (4) and",
    vyosComment(
      `AFTRs may drop packets carrying it. mtu ${plan.tunnel.mtu}: the NGN's 1500 less the 40-byte IPv6 header.`,
    ),
    "# RFC 6333: the B4 end of the softwire is 192.0.0.2 in 192.0.0.0/29 (the AFTR is 192.0.0.1).",
    ...vyosTunnelLines({
      wan: plan.wan,
      tunnel: tun,
      local: plan.tunnel.local,
      br: plan.tunnel.remote,
      mtu: plan.tunnel.mtu,
      ipv4Address: plan.b4Address,
      ipv4PrefixLength: plan.b4PrefixLength,
    }),
    "",
    "# IPv4 leaves through the tunnel as it is: the AFTR does the NAT, so no `nat source` rule for it.",
    vyosIpv4Default(tun),
    "",
    "# Replies from the tunnel come back to addresses of the LAN: these accept established and related",
    "# traffic first in every VyOS filter chain, so a filter with default-action drop lets them through.",
    ...vyosStatePolicyLines(),
    "",
    "# A forward filter with default-action drop must also accept the",
    vyosComment(
      `LAN's new traffic out of ${tun}, and an IPv6 input filter the AFTR's ip4ip6 packets; for example`,
    ),
    "# (pick rule numbers that are free and lower than your own drop rules, then paste without the #):",
    `# ${vyosLine("set", "firewall", "ipv4", "forward", "filter", "rule", "5", "action", "accept")}`,
    `# ${vyosLine("set", "firewall", "ipv4", "forward", "filter", "rule", "5", "outbound-interface", "name", tun)}`,
    `# ${vyosLine("set", "firewall", "ipv6", "input", "filter", "rule", "5", "action", "accept")}`,
    `# ${vyosLine("set", "firewall", "ipv6", "input", "filter", "rule", "5", "source", "address", plan.tunnel.remote)}`,
    `# ${vyosLine("set", "firewall", "ipv6", "input", "filter", "rule", "5", "protocol", "4")}`,
    "",
  ];
  return { files: [{ path: VYOS_CONFIGURE_FILE, mode: 0o644, content: lines.join("\n") }], warnings };
}
