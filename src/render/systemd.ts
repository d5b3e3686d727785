import type { MapePlan } from "../plan/plan.ts";
import { BR_ROUTE_METRIC, ROUTE_PROTOCOL } from "./iproute2.ts";
import { NFT_TABLE, renderNftables } from "./nftables.ts";
import { iniAssign, iniComment, unitWord } from "../text/ini.ts";
import { gatewayNote, planSummary, type CeTunnelPlan } from "./shell.ts";
import type { RenderedFile } from "./targets.ts";

export const NETWORKD_DIR = "/etc/systemd/network";
export const NETWORKD_NFT_PATH = "/etc/mapectl/mapectl.nft";
export const NETWORKD_NFT_UNIT = "mapectl-nft.service";

export function ini(
  preamble: readonly string[],
  sections: readonly (readonly [string, readonly string[]])[],
): string {
  const body = sections.map(([name, lines]) => [`[${name}]`, ...lines].join("\n")).join("\n\n");
  return `${preamble.map((l) => `${l}\n`).join("")}${body}\n`;
}

/** The ip6tnl tunnel itself. */
function tunnelNetdev(plan: Pick<MapePlan, "tunnel">, head: readonly string[]): string {
  const tun = plan.tunnel.name;
  return ini(head, [
    [
      "NetDev",
      [
        iniAssign("Name", tun),
        "Kind=ip6tnl",
        iniComment(`${plan.tunnel.mtu} = the NGN's 1500 less the 40-byte IPv6 header.`),
        iniAssign("MTUBytes", plan.tunnel.mtu),
      ],
    ],
    [
      "Tunnel",
      [
        "Mode=ipip6",
        iniAssign("Local", plan.tunnel.local),
        iniAssign("Remote", plan.tunnel.remote),
        "# BRs drop packets that carry the encapsulation-limit destination option.",
        "EncapsulationLimit=none",
      ],
    ],
  ]);
}

/** The tunnel's IPv4 side: its address (`ipv4`: address/length) and mapectl's default route. */
export function tunnelNetworkFile(
  plan: Pick<MapePlan, "tunnel" | "defaultRouteMetric">,
  ipv4: string,
  head: readonly string[],
): string {
  const tun = plan.tunnel.name;
  return ini(head, [
    ["Match", [iniAssign("Name", tun)]],
    [
      "Network",
      [
        iniAssign("Address", ipv4),
        "# IPv4 only: no link-local IPv6 and no router advertisements on the tunnel.",
        "LinkLocalAddressing=no",
        "IPv6AcceptRA=no",
        "ConfigureWithoutCarrier=yes",
      ],
    ],
    [
      "Route",
      [
        "Destination=0.0.0.0/0",
        iniAssign("Metric", plan.defaultRouteMetric),
        iniComment(`${ROUTE_PROTOCOL} marks the route as mapectl's, as \`mapectl up\` does.`),
        iniAssign("Protocol", ROUTE_PROTOCOL),
      ],
    ],
  ]);
}

/**
 * The /128 the tunnel leaves from, on the WAN (`why`: comment lines saying what it is). It lies
 * inside the line's own prefix, so nobody else on the link can hold it: no DAD, as the shell does.
 */
export function wanAddressSection(address: string, why: readonly string[]): readonly [string, string[]] {
  return ["Address", [...why, iniAssign("Address", `${address}/128`), "DuplicateAddressDetection=none"]];
}

/** The WAN's side: the tunnel on it, the CE address and the route to the BR. */
function wanNetworkFile(plan: CeTunnelPlan, head: readonly string[]): string {
  const tun = plan.tunnel.name;
  return ini(
    [
      ...head,
      iniComment(
        `networkd uses only the first .network file that matches ${plan.wan}. If ${plan.wan} has one already,`,
      ),
      `# put the [Network] Tunnel=, [Address] and [Route] sections below in a drop-in for it instead`,
      iniComment(`(${NETWORKD_DIR}/THAT-FILE.network.d/mapectl.conf) and leave this file out.`),
    ],
    [
      ["Match", [iniAssign("Name", plan.wan)]],
      [
        "Network",
        [
          "# The router advertisements give the default router that leads to the BR.",
          "IPv6AcceptRA=yes",
          iniAssign("Tunnel", tun),
        ],
      ],
      wanAddressSection(plan.ceAddress, [
        "# The CE address, the tunnel's source; it lies inside this line's own prefix, so no DAD.",
      ]),
      [
        "Route",
        [
          ...gatewayNote(plan, iniComment),
          "# The BR is reached through the WAN's default router; NGN does not put it on the link.",
          iniAssign("Destination", `${plan.br}/128`),
          iniAssign("Gateway", plan.gateway),
          iniAssign("Metric", BR_ROUTE_METRIC),
          iniAssign("Protocol", ROUTE_PROTOCOL),
        ],
      ],
    ],
  );
}

/** The oneshot unit that loads mapectl's table (`what`: e.g. "MAP-E NAPT") after nftables.service. */
export function nftUnitFile(head: readonly string[], what = "MAP-E NAPT"): string {
  return ini(head, [
    [
      "Unit",
      [
        iniAssign("Description", `mapectl ${what} table (ip ${NFT_TABLE})`),
        "Documentation=man:mapectl(8)",
        "# nftables.service starts with `flush ruleset`; load the table after it, not before.",
        "After=nftables.service",
        "Before=network-online.target",
      ],
    ],
    [
      "Service",
      [
        "Type=oneshot",
        "RemainAfterExit=yes",
        iniAssign("ExecStart", `/usr/sbin/nft -f ${unitWord(NETWORKD_NFT_PATH)}`),
        iniAssign("ExecStop", `/usr/sbin/nft delete table ip ${unitWord(NFT_TABLE)}`),
      ],
    ],
    ["Install", ["WantedBy=multi-user.target"]],
  ]);
}

/**
 * systemd-networkd files that build what `mapectl up` builds, for a router whose network is
 * networkd's: the tunnel (.netdev), its IPv4 side (.network), the WAN's CE address and BR route
 * (.network), IPv4 forwarding (sysctl.d) and the NAPT table with a oneshot unit that loads it.
 */
export function renderNetworkd(plan: MapePlan): RenderedFile[] {
  return renderCeTunnelNetworkd(plan, {
    title: `MAP-E: ${planSummary(plan)}.`,
    ipv4: `${plan.ipv4Address}/${plan.ipv4PrefixLength}`,
    nft: renderNftables(plan),
    nftWhat: "MAP-E NAPT",
  });
}

/** The networkd files of a method whose tunnel leaves from a CE address (MAP-E, IPIP). */
export function renderCeTunnelNetworkd(
  plan: CeTunnelPlan,
  words: { readonly title: string; readonly ipv4: string; readonly nft: string; readonly nftWhat: string },
): RenderedFile[] {
  const tun = plan.tunnel.name;
  const head = [iniComment(words.title), "# Rendered by `mapectl render --target systemd-networkd`."];
  const netdev = tunnelNetdev(plan, head);
  const tunnelNetwork = tunnelNetworkFile(plan, words.ipv4, head);
  const wanNetwork = wanNetworkFile(plan, head);
  const sysctl = [...head, "net.ipv4.ip_forward = 1", ""].join("\n");
  const nftUnit = nftUnitFile(head, words.nftWhat);
  const base = `${NETWORKD_DIR}/50-mapectl-${tun}`;
  return [
    { path: `${NETWORKD_DIR}/10-mapectl-${plan.wan}.network`, mode: 0o644, content: wanNetwork },
    { path: `${base}.netdev`, mode: 0o644, content: netdev },
    { path: `${base}.network`, mode: 0o644, content: tunnelNetwork },
    { path: "/etc/sysctl.d/50-mapectl.conf", mode: 0o644, content: sysctl },
    { path: NETWORKD_NFT_PATH, mode: 0o644, content: words.nft },
    { path: `/etc/systemd/system/${NETWORKD_NFT_UNIT}`, mode: 0o644, content: nftUnit },
  ];
}

export interface UnitOptions {
  /** The words that run mapectl, absolute: the executable, or node and the bundle. */
  readonly command: readonly string[];
  /** Extra words after `watch`, e.g. --config for a configuration outside /etc. */
  readonly watchArgs?: readonly string[];
  /** Directories the daemon writes besides its state and runtime directories. */
  readonly extraWritablePaths?: readonly string[];
}

export const DEBIAN_EXECUTABLE = "/usr/sbin/mapectl";
export const UNIT_NAME = "mapectl.service";

/** The hardened unit that runs `mapectl watch`, the daemon that keeps MAP-E in line with the prefix. */
export function renderSystemdUnit(options: UnitOptions): RenderedFile {
  const exec = [...options.command, "watch", ...(options.watchArgs ?? [])]
    .map((w) => unitWord(w, "ExecStart word"))
    .join(" ");
  const writable = ["/var/lib/mapectl", "/run/mapectl", ...(options.extraWritablePaths ?? [])].map((p) =>
    unitWord(p, "ReadWritePaths path"),
  );
  const content = ini(
    [],
    [
      [
        "Unit",
        [
          "Description=MAP-E IPv4 over IPv6 (mapectl): keeps the tunnel and NAPT in line with the delegated prefix",
          "Documentation=man:mapectl(8)",
          "Wants=network-online.target",
          "# nftables.service starts with `flush ruleset`: start after it so the NAPT table is not wiped.",
          "# Not after network-online.target, nor network.target: the daemon waits for the delegated prefix",
          "# itself and applies the moment it arrives (netlink), so its own start-up (seconds on a slow",
          "# router) runs beside networkd's start and the wait for DHCPv6-PD. network.target would only",
          "# order the stop at shutdown, and stopping takes nothing down. The default dependencies stay:",
          "# without them systemd-analyze security no longer counts ProtectSystem=, ProtectHome= and",
          "# PrivateTmp= (an early-boot service), and basic.target follows sysinit.target within 0.1 s.",
          "After=nftables.service",
        ],
      ],
      [
        "Service",
        [
          "Type=exec",
          iniAssign("ExecStart", exec),
          "# No ExecStop that takes MAP-E down: a restart (an upgrade, Restart=on-failure) must not cut IPv4.",
          "# `mapectl down` removes it on purpose.",
          "Restart=on-failure",
          "RestartSec=5s",
          "StateDirectory=mapectl",
          "RuntimeDirectory=mapectl",
          iniAssign("ReadWritePaths", writable.join(" ")),
          "# CAP_NET_ADMIN: links, addresses, routes, nft; CAP_NET_RAW: probes;",
          "# CAP_NET_BIND_SERVICE: the DHCPv6 S46 exchange binds UDP port 546.",
          "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE",
          "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE",
          "NoNewPrivileges=yes",
          "ProtectSystem=strict",
          "ProtectHome=yes",
          "PrivateTmp=yes",
          "PrivateDevices=yes",
          "ProtectKernelModules=yes",
          "ProtectKernelLogs=yes",
          "ProtectControlGroups=yes",
          "ProtectClock=yes",
          "ProtectHostname=yes",
          "# Not ProtectKernelTunables=: the daemon writes net.ipv4.ip_forward.",
          "RestrictNamespaces=yes",
          "RestrictRealtime=yes",
          "RestrictSUIDSGID=yes",
          "LockPersonality=yes",
          "# Not MemoryDenyWriteExecute=: V8's JIT needs writable and executable memory.",
          "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
          "SystemCallArchitectures=native",
          "SystemCallFilter=@system-service",
          "SystemCallErrorNumber=EPERM",
        ],
      ],
      ["Install", ["WantedBy=multi-user.target"]],
    ],
  );
  return { path: `/etc/systemd/system/${UNIT_NAME}`, mode: 0o644, content };
}
