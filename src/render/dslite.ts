import type { DsLitePlan } from "../plan/dslite-plan.ts";
import { WAN_ADDRESS_PLACEHOLDER } from "../plan/dslite-plan.ts";
import { ceAddressDel, forwarding, linkDel } from "./iproute2.ts";
import { dropLeftoverFold } from "./nft-fold.ts";
import { NFT_TABLE, tunnelFilterChains } from "./nftables.ts";
import {
  errorLine,
  shellChecks,
  shellCommand,
  shellIpv4Side,
  shellNftScript,
  shellTunnel,
  shellWanAddress,
} from "./shell.ts";
import {
  NETWORKD_DIR,
  NETWORKD_NFT_PATH,
  NETWORKD_NFT_UNIT,
  ini,
  nftUnitFile,
  tunnelNetworkFile,
  wanAddressSection,
} from "./systemd.ts";
import type { RenderedFile } from "./targets.ts";
import { iniAssign, iniComment } from "../text/ini.ts";
import { nftComment } from "../text/nft.ts";
import { shellComment, shellLineWord } from "../text/shell.ts";

/** One sentence describing a DS-Lite line, for the first comment of every rendered file. */
export function dsLiteSummary(plan: DsLitePlan): string {
  const service = plan.aftr.service === null ? "" : `${plan.aftr.service}, `;
  const name = plan.aftr.name === null ? "" : `${plan.aftr.name} `;
  const from = plan.aftr.name === null ? `from ${plan.aftr.from}` : `resolved, from ${plan.aftr.from}`;
  return `${service}AFTR ${name}${plan.tunnel.remote} (${from}), B4 ${plan.b4Address} from ${plan.tunnel.local}`;
}

/**
 * DS-Lite's table: no NAT (the AFTR translates, RFC 6333 §6.6), only the MSS clamp and the
 * inbound filter, so nothing but replies comes in from the tunnel.
 */
export function renderDsLiteNftables(plan: DsLitePlan): string {
  return [
    nftComment(
      `mapectl: DS-Lite through ${plan.tunnel.name} to AFTR ${plan.tunnel.remote}: no NAT here (the AFTR translates), MSS clamp and inbound filter only`,
    ),
    `table ip ${NFT_TABLE} {}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    ...tunnelFilterChains(plan.tunnel.name, plan.tunnel.mtu, false),
    "}",
    ...dropLeftoverFold(),
    "",
  ].join("\n");
}

/** Lines that stop the script while the WAN address is still the placeholder. */
function placeholderCheck(plan: DsLitePlan): string[] {
  if (plan.tunnel.local !== WAN_ADDRESS_PLACEHOLDER) return [];
  return [
    "",
    shellComment(
      `REPLACE ${WAN_ADDRESS_PLACEHOLDER}: this was rendered away from the router. It is the WAN's`,
    ),
    shellComment(`global IPv6 address, from: ip -6 addr show dev ${plan.wan} scope global`),
    `case ${WAN_ADDRESS_PLACEHOLDER} in *WAN-IPV6*)`,
    `\t${errorLine(`replace ${WAN_ADDRESS_PLACEHOLDER} with the WAN's global IPv6 address first`)}`,
    "\texit 2",
    "esac",
  ];
}

/** Why a line that only delegates a prefix gets a B4 source of mapectl's, for every render's comment. */
const B4_SOURCE_WHY = [
  "The line gives the WAN no address of its own (a delegated prefix only): the tunnel's source is",
  "::b4 in the prefix's last /64, a /128 on the WAN, as `mapectl up` adds it.",
] as const;

/** The B4's source /128 on a line that gives the WAN no address; nothing when the WAN has its own. */
function shellB4Source(plan: DsLitePlan): string[] {
  if (plan.addsSource !== true) return [];
  return [
    ...B4_SOURCE_WHY.map((line) => shellComment(line)),
    ...shellWanAddress(plan.tunnel.local, plan.wan),
    "",
  ];
}

/** The networkd [Address] section of the B4's source, when mapectl adds it (see B4_SOURCE_WHY). */
function networkdB4Source(plan: DsLitePlan): (readonly [string, readonly string[]])[] {
  if (plan.addsSource !== true) return [];
  const why = [...B4_SOURCE_WHY, "It lies inside this line's own prefix, so no DAD."];
  return [
    wanAddressSection(
      plan.tunnel.local,
      why.map((line) => iniComment(line)),
    ),
  ];
}

/** A POSIX sh script that builds DS-Lite as `mapectl up` would, safe to run twice. */
export function renderDsLiteShell(plan: DsLitePlan): string {
  const tun = plan.tunnel.name;
  return [
    ...shellChecks(`DS-Lite: ${dsLiteSummary(plan)}.`, plan.wan),
    ...placeholderCheck(plan),
    "",
    ...shellNftScript(renderDsLiteNftables(plan)),
    "",
    "# The router forwards the LAN's IPv4 into the tunnel as it is: the AFTR does the NAT.",
    shellCommand(forwarding(true)),
    "",
    ...shellB4Source(plan),
    "# ip4ip6 from the WAN's address to the AFTR, without the encapsulation-limit option; an existing",
    "# tunnel of the same name is changed in place, so its address and routes survive.",
    ...shellTunnel(plan),
    "# RFC 6333: the B4 end of the softwire is 192.0.0.2 in 192.0.0.0/29, the router's own IPv4 source.",
    ...shellIpv4Side(tun, plan.b4Address, plan.b4PrefixLength, plan.defaultRouteMetric),
    "",
    "# The MSS clamp and the inbound filter, last: replacing the table is one atomic transaction.",
    "nft_script | nft -f -",
    `echo ${shellLineWord(`DS-Lite is up: IPv4 through ${tun} to AFTR ${plan.tunnel.remote}`)}`,
    "",
    "# To undo it:",
    shellComment(`  ${shellCommand(["nft", "delete", "table", "ip", NFT_TABLE])}`),
    shellComment(`  ${shellCommand(linkDel(tun))}`),
    ...(plan.addsSource === true
      ? [shellComment(`  ${shellCommand(ceAddressDel(plan.tunnel.local, plan.wan))}`)]
      : []),
    "# (net.ipv4.ip_forward stays on: other things on the router may need it.)",
    "",
  ].join("\n");
}

/**
 * systemd-networkd files for DS-Lite: the tunnel on the WAN (.netdev and the WAN's .network), the
 * B4 address and default route (.network), forwarding and the MSS/filter table with its unit.
 */
export function renderDsLiteNetworkd(plan: DsLitePlan): RenderedFile[] {
  const tun = plan.tunnel.name;
  const head = [
    iniComment(`DS-Lite: ${dsLiteSummary(plan)}.`),
    "# Rendered by `mapectl render --target systemd-networkd`.",
    ...(plan.tunnel.local === WAN_ADDRESS_PLACEHOLDER
      ? [
          iniComment(
            `REPLACE ${WAN_ADDRESS_PLACEHOLDER} with the WAN's global IPv6 address (ip -6 addr show dev ${plan.wan} scope global).`,
          ),
        ]
      : []),
  ];
  const netdev = ini(head, [
    ["NetDev", [iniAssign("Name", tun), "Kind=ip6tnl", iniAssign("MTUBytes", plan.tunnel.mtu)]],
    [
      "Tunnel",
      [
        "Mode=ipip6",
        iniAssign("Local", plan.tunnel.local),
        iniAssign("Remote", plan.tunnel.remote),
        "EncapsulationLimit=none",
      ],
    ],
  ]);
  // RFC 6333: the B4 end of the softwire; the AFTR is 192.0.0.1.
  const tunnelNetwork = tunnelNetworkFile(plan, `${plan.b4Address}/${plan.b4PrefixLength}`, head);
  const wanNetwork = ini(
    [
      ...head,
      iniComment(
        `networkd uses only the first .network file that matches ${plan.wan}: if it has one already,`,
      ),
      plan.addsSource === true
        ? "# add Tunnel= and the [Address] section to it (a drop-in) and leave this file out."
        : "# add Tunnel= to it (a drop-in) and leave this file out.",
    ],
    [
      ["Match", [iniAssign("Name", plan.wan)]],
      [
        "Network",
        [
          "# The AFTR is reached through the WAN's default route, learned from router advertisements.",
          "IPv6AcceptRA=yes",
          iniAssign("Tunnel", tun),
        ],
      ],
      ...networkdB4Source(plan),
    ],
  );
  const base = `${NETWORKD_DIR}/50-mapectl-${tun}`;
  return [
    { path: `${NETWORKD_DIR}/10-mapectl-${plan.wan}.network`, mode: 0o644, content: wanNetwork },
    { path: `${base}.netdev`, mode: 0o644, content: netdev },
    { path: `${base}.network`, mode: 0o644, content: tunnelNetwork },
    {
      path: "/etc/sysctl.d/50-mapectl.conf",
      mode: 0o644,
      content: [...head, "net.ipv4.ip_forward = 1", ""].join("\n"),
    },
    { path: NETWORKD_NFT_PATH, mode: 0o644, content: renderDsLiteNftables(plan) },
    {
      path: `/etc/systemd/system/${NETWORKD_NFT_UNIT}`,
      mode: 0o644,
      content: nftUnitFile(head, "DS-Lite MSS clamp and inbound filter"),
    },
  ];
}
