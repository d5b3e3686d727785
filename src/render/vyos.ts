import type { MapePlan } from "../plan/plan.ts";
import { renderNftables } from "./nftables.ts";
import { vyosComment, vyosWord } from "../text/vyos.ts";
import { gatewayNote, planSummary, type CeTunnelPlan } from "./shell.ts";
import { oneLine } from "../text/one-line.ts";
import type { MarkedBlock } from "./marked-block.ts";
import type { Rendered } from "./targets.ts";
import { MapectlError } from "../mape/errors.ts";

/** /config is the one place that survives a VyOS image upgrade; everything mapectl keeps lives there. */
export const VYOS_DIR = "/config/mapectl";
export const VYOS_NFT_PATH = `${VYOS_DIR}/mapectl.nft`;
export const VYOS_UNIT_PATH = `${VYOS_DIR}/mapectl.service`;
export const VYOS_EXECUTABLE = `${VYOS_DIR}/mapectl`;
export const VYOS_CONFIG_PATH = `${VYOS_DIR}/config.toml`;
export const VYOS_BOOT_SCRIPT = "/config/scripts/vyos-postconfig-bootup.script";
export const VYOS_CONFIGURE_FILE = "vyos-configure.txt";

/** What a fresh VyOS puts in the boot script (vyos-1x debian/vyos-1x.postinst). */
export const VYOS_BOOT_SCRIPT_DEFAULT = `#!/bin/sh
# This script is executed at boot time after VyOS configuration is fully applied.
# Any modifications required to work around unfixed bugs
# or use services not available through the VyOS CLI system can be placed here.

`;

export const BOOT_BLOCK_BEGIN = "# BEGIN mapectl";
export const BOOT_BLOCK_END = "# END mapectl";

// Constraints from vyos-1x's interface definitions (src/render/data/vyos/).
export const VYOS_TUNNEL_NAME = /^tun[0-9]+$/;
const ETHERNET_NAME = /^((eth|lan)[0-9]+|(eno|ens|enp|enx).+)$/;
export const VYOS_DEFAULT_TUNNEL = "tun0";

export class VyosRenderError extends MapectlError {
  constructor(message: string) {
    super("usage", message);
    this.name = "VyosRenderError";
  }
}

/** VyOS accepts only tunN as a tunnel name; any other plan name becomes tun0. */
export function vyosTunnelName(name: string): string {
  return VYOS_TUNNEL_NAME.test(name) ? name : VYOS_DEFAULT_TUNNEL;
}

function vifPath(wan: string): string[] | null {
  const dot = wan.lastIndexOf(".");
  if (dot <= 0) return null;
  const parent = wan.slice(0, dot);
  const vid = wan.slice(dot + 1);
  if (!ETHERNET_NAME.test(parent) || !/^[0-9]{1,4}$/.test(vid) || Number(vid) > 4094) return null;
  return ["interfaces", "ethernet", parent, "vif", vid];
}

/** The `interfaces ethernet …` path of the WAN: ethN, or ethN.VID as a vif. */
export function wanPath(wan: string): string[] {
  const vif = vifPath(wan);
  if (vif !== null) return vif;
  if (ETHERNET_NAME.test(wan) && !wan.includes(".")) return ["interfaces", "ethernet", wan];
  throw new VyosRenderError(
    `the VyOS target needs the WAN to be an Ethernet interface (ethN or ethN.VLAN), not "${oneLine(wan)}"`,
  );
}

/**
 * The WAN's path for a fix, which must not refuse: ethN.VID as a vif, any other name as given
 * (doctor names what it found, even where VyOS would want another name).
 */
export function vyosEthernetPath(wan: string): string[] {
  return vifPath(wan) ?? ["interfaces", "ethernet", wan];
}

export function vyosTunnelPath(tunnel: string): string[] {
  return ["interfaces", "tunnel", tunnel];
}

/** One configuration-mode line, each word quoted as VyOS's shell-like parser reads it. */
export function vyosLine(verb: "set" | "delete", ...words: string[]): string {
  return `${verb} ${words.map(vyosWord).join(" ")}`;
}

function set(...words: string[]): string {
  return vyosLine("set", ...words);
}

export function vyosIpv4Default(tunnel: string): string {
  return set("protocols", "static", "route", "0.0.0.0/0", "interface", tunnel);
}

export interface VyosTunnelSpec {
  readonly wan: string;
  readonly tunnel: string;
  /** The tunnel's source: the CE address. */
  readonly local: string;
  readonly br: string;
  readonly mtu: number;
  readonly ipv4Address: string;
  /** 32 unless given: MAP-E's address is a host address, DS-Lite's B4 sits in a /29. */
  readonly ipv4PrefixLength?: number;
}

/** Every line of the tunnel's definition: doctor gives them whole to replace a tunnel VyOS does not know. */
export function vyosTunnelLines(spec: VyosTunnelSpec): string[] {
  const tunnel = vyosTunnelPath(spec.tunnel);
  return [
    set(...tunnel, "encapsulation", "ipip6"),
    set(...tunnel, "source-address", spec.local),
    set(...tunnel, "source-interface", spec.wan),
    set(...tunnel, "remote", spec.br),
    set(...tunnel, "parameters", "ipv6", "encaplimit", "none"),
    set(...tunnel, "mtu", String(spec.mtu)),
    set(...tunnel, "address", `${spec.ipv4Address}/${spec.ipv4PrefixLength ?? 32}`),
    set(...tunnel, "ip", "adjust-mss", "clamp-mss-to-pmtu"),
  ];
}

export function vyosCeAddress(wanPath: readonly string[], ceAddress: string): string {
  return set(...wanPath, "address", `${ceAddress}/128`);
}

/**
 * The lines mapectl adds to the boot script: load the NAPT table (VyOS never touches it, so once
 * per boot is enough) and, where `mapectl install` put the unit, start the daemon.
 */
export function vyosBootBlock(): string {
  return [
    `${BOOT_BLOCK_BEGIN}: \`mapectl uninstall\` removes the lines down to END mapectl`,
    "# VyOS rebuilds its own NAT table on every commit but never touches mapectl's, so loading it",
    "# once at boot is enough. install, up and the daemon keep the file the table they load; down",
    "# removes it, so a table down took away does not come back at boot.",
    `if [ -r ${VYOS_NFT_PATH} ]; then`,
    `\tnft -f ${VYOS_NFT_PATH} || logger -t mapectl "loading ${VYOS_NFT_PATH} failed"`,
    "fi",
    "# /etc does not survive an image upgrade and /config does: the unit is put in /run on every boot.",
    "# --no-block: this script runs inside VyOS's own start-up, which the unit's ordering waits for.",
    `if [ -r ${VYOS_UNIT_PATH} ]; then`,
    `\tcp ${VYOS_UNIT_PATH} /run/systemd/system/mapectl.service`,
    "\tsystemctl daemon-reload",
    '\tsystemctl start --no-block mapectl.service || logger -t mapectl "starting mapectl.service failed"',
    "fi",
    BOOT_BLOCK_END,
    "",
  ].join("\n");
}

/** The boot block as install and render --output-dir merge it into a boot script that exists. */
export function vyosBootMarkedBlock(): MarkedBlock {
  return { begin: BOOT_BLOCK_BEGIN, end: BOOT_BLOCK_END, text: vyosBootBlock() };
}

/**
 * What keeps VyOS's connection tracking on, without which mapectl's NAPT never runs. VyOS's table
 * ip vyos_conntrack ends its PREROUTING and OUTPUT chains in notrack unless a `nat` node exists or
 * the firewall has a global state-policy or a rule matching state, connection-status or offload
 * (vyos-1x src/conf_mode/system_conntrack.py, sagitta L94 and L180-189, circinus L100 and L188-193;
 * data/templates/conntrack/nftables-ct.j2), re-rendered at boot and after every firewall or NAT
 * commit. A global state-policy is the one of these that no later edit of NAT or of a rule undoes;
 * `firewall global-options state-policy` exists on 1.4 and 1.5 alike (global-options.xml.i). Every
 * VyOS filter chain then jumps to it first (data/templates/firewall/nftables.j2, sagitta L47-50), so
 * it also accepts the replies coming back from the tunnel through a forward filter that drops.
 */
export function vyosStatePolicyLines(): string[] {
  return [
    set("firewall", "global-options", "state-policy", "established", "action", "accept"),
    set("firewall", "global-options", "state-policy", "related", "action", "accept"),
  ];
}

function vyosConntrackSection(): string[] {
  return [
    "# Connection tracking must stay on, or mapectl's NAPT and inbound filter never match: VyOS's table",
    "# vyos_conntrack ends in notrack unless a `nat` rule, a stateful firewall rule or a global",
    "# state-policy exists, and VyOS renders it again at boot and on every firewall or NAT commit. With",
    "# these two lines deleting your last NAT rule no longer turns mapectl's NAPT off. They also accept",
    "# established and related traffic first in every VyOS filter chain, replies from the tunnel included.",
    ...vyosStatePolicyLines(),
  ];
}

/** The BR's route pinned to the WAN's router: only printed as a comment (vyosBrRouteSection says why). */
export function vyosBrRoute(br: string, gateway: string, wan: string): string {
  return set("protocols", "static", "route6", `${br}/128`, "next-hop", gateway, "interface", wan);
}

/**
 * The BR is reached through the WAN's IPv6 default route, not a /128 via a fixed link-local next
 * hop: that route outranks the default and would black-hole the tunnel once the NGN's router
 * answers from another link-local address, while the default route learned from router
 * advertisements follows the router. VyOS accepts RAs on a forwarding interface only with
 * `ipv6 address autoconf` or `address dhcpv6` (accept_ra 2, vyos-1x python/vyos/ifconfig/interface.py,
 * sagitta L1617-1622, circinus L1758-1763; otherwise 1, which a forwarding interface ignores).
 */
function vyosBrRouteSection(plan: CeTunnelPlan): string[] {
  return [
    vyosComment(
      `The BR is reached through ${plan.wan}'s IPv6 default route, with no route of its own: a route6 to the`,
    ),
    "# BR via the router's link-local address would black-hole the tunnel once the NGN's router answers",
    "# from another one, while the default route learned from its router advertisements follows it.",
    vyosComment(
      `VyOS accepts those only with \`ipv6 address autoconf\` or \`address dhcpv6\` on ${plan.wan}; check with`,
    ),
    "#   show ipv6 route ::/0",
    vyosComment(
      `Only where IPv6 must not leave by ${plan.wan}'s default route, pin the BR instead (mapectl watch says`,
    ),
    "# when the router's address has changed under it):",
    ...gatewayNote(plan, vyosComment),
    ...(gatewayNote(plan, vyosComment).length > 0 ? ["#   (in VyOS: show ipv6 route ::/0)"] : []),
    `# ${vyosBrRoute(plan.br, plan.gateway, plan.wan)}`,
  ];
}

/** Example rule numbers for the commented firewall rules; the user picks free ones. */
const FORWARD_RULE = 5;
const INPUT_RULE = 5;

/** The firewall rules a default-action drop needs, uncommented by the user (vyosFirewallSection). */
export function vyosFirewallRules(plan: Pick<MapePlan, "br" | "forwards">, tunnel: string): string[] {
  const forward = ["firewall", "ipv4", "forward", "filter", "rule"];
  const input = ["firewall", "ipv6", "input", "filter", "rule", String(INPUT_RULE)];
  const out = [...forward, String(FORWARD_RULE)];
  const back = [...forward, String(FORWARD_RULE + 1)];
  return [
    set(...out, "action", "accept"),
    set(...out, "outbound-interface", "name", tunnel),
    ...(plan.forwards.length === 0
      ? []
      : [
          set(...back, "action", "accept"),
          set(...back, "inbound-interface", "name", tunnel),
          set(...back, "connection-status", "nat", "destination"),
        ]),
    set(...input, "action", "accept"),
    set(...input, "source", "address", plan.br),
    set(...input, "protocol", "4"),
  ];
}

function vyosFirewallSection(plan: Pick<MapePlan, "br" | "forwards">, tunnel: string): string[] {
  return [
    "# VyOS's firewall runs beside mapectl's table and a VyOS drop is final. The state-policy above lets",
    "# the replies back from the tunnel through. A forward filter with default-action drop must also",
    vyosComment(
      `accept the LAN's new traffic out of ${tunnel}${plan.forwards.length === 0 ? "" : ", and the port forwards coming in from it"}.`,
    ),
    "# An IPv6 input filter with default-action drop must accept the BR's ip4ip6 packets (protocol 4),",
    "# which it sees before they are decapsulated. These rules are commented out: `set` on a rule number",
    "# you already use would change your rule instead of adding one, and with default-action accept they",
    "# are not needed. Pick numbers that are free and lower than your own drop rules (show firewall),",
    "# then paste them without the leading #:",
    ...vyosFirewallRules(plan, tunnel).map((l) => `# ${l}`),
  ];
}

/**
 * VyOS 1.4/1.5: the `set` commands to paste into configure mode, the nft file with the NAPT that
 * VyOS NAT cannot express (several port ranges, ICMP), and the boot script that loads it.
 */
export function renderVyos(plan: MapePlan): Rendered {
  const blocks = plan.portSets.length;
  return renderCeTunnelVyos(plan, {
    title: `MAP-E: ${planSummary(plan)}.`,
    defaultTunnelName: "mape",
    ipv4PrefixLength: 32,
    ceComment:
      "# The CE address is the tunnel's IPv6 source: the BR accepts the IPv4 address and ports only from it.",
    natLines: [
      vyosComment(
        `The NAPT is mapectl's own nft table in ${VYOS_NFT_PATH}, not a VyOS \`nat source\` rule: VyOS NAT`,
      ),
      vyosComment(
        `takes one port range per rule and none for ICMP, while this line has ${blocks} port block${blocks === 1 ? "" : "s"}. A \`nat source\``,
      ),
      "# rule of VyOS's for the tunnel never matches (mapectl's chain runs first, at priority 99 before 100).",
    ],
    nft: (tun) => renderNftables({ ...plan, tunnel: { ...plan.tunnel, name: tun } }),
  });
}

/** The words of a CE-tunnel configuration that differ between methods. */
export interface CeTunnelVyosWords {
  readonly title: string;
  /** The plan's tunnel name that is the method's default: VyOS's tunN replaces it without a warning. */
  readonly defaultTunnelName: string;
  readonly ipv4PrefixLength: number;
  readonly ceComment: string;
  /** Why the NAT is mapectl's nft table, before the lines that say how it is loaded. */
  readonly natLines: readonly string[];
  /** The table for the VyOS tunnel's name. */
  readonly nft: (tunnel: string) => string;
}

/** The configure script, nft file and boot script of a method whose tunnel leaves from a CE address. */
export function renderCeTunnelVyos(
  plan: CeTunnelPlan & Pick<MapePlan, "forwards">,
  words: CeTunnelVyosWords,
): Rendered {
  const warnings: string[] = [];
  const tun = vyosTunnelName(plan.tunnel.name);
  if (tun !== plan.tunnel.name && plan.tunnel.name !== words.defaultTunnelName) {
    warnings.push(
      `VyOS names tunnels tunN: the tunnel is ${tun}, not ${plan.tunnel.name} (--tunnel-name tunN picks another)`,
    );
  }
  const wan = wanPath(plan.wan);
  const spec: VyosTunnelSpec = {
    wan: plan.wan,
    tunnel: tun,
    local: plan.tunnel.local,
    br: plan.tunnel.remote,
    mtu: plan.tunnel.mtu,
    ipv4Address: plan.ipv4Address,
    ipv4PrefixLength: words.ipv4PrefixLength,
  };
  const lines = [
    vyosComment(words.title),
    "# Rendered by `mapectl render --target vyos` for VyOS 1.4 and 1.5. Paste the set commands in",
    "# configure mode, look at them with `compare`, then `commit` and `save`.",
  ];
  if (tun !== plan.tunnel.name) {
    lines.push(
      vyosComment(
        `VyOS names tunnels tunN, so the tunnel is ${tun}; if ${tun} is taken, render again with --tunnel-name tunN.`,
      ),
    );
  }
  lines.push(
    "# After a prefix change the CE address changes: delete the old one from the WAN before pasting again.",
    "",
    words.ceComment,
    vyosCeAddress(wan, plan.ceAddress),
    "",
    ...vyosConntrackSection(),
    "",
    ...vyosBrRouteSection(plan),
    "",
    "# ip4ip6 to the BR. encaplimit none: VyOS adds the encapsulation-limit option by default (4) and BRs",
    vyosComment(
      `drop packets carrying it. mtu ${plan.tunnel.mtu}: the NGN's 1500 less the 40-byte IPv6 header (VyOS's default is 1476).`,
    ),
    ...vyosTunnelLines(spec),
    "",
    "# IPv4 leaves through the tunnel.",
    vyosIpv4Default(tun),
    "",
    ...words.natLines,
    "# `mapectl install`, `up` and the daemon write the file, again whenever the prefix changes, and",
    vyosComment(`${VYOS_BOOT_SCRIPT} loads it at boot; load it now from op mode:`),
    vyosComment(`  sudo nft -f ${VYOS_NFT_PATH}`),
    "",
    ...vyosFirewallSection(plan, tun),
    "",
  );
  return {
    files: [
      { path: VYOS_CONFIGURE_FILE, mode: 0o644, content: lines.join("\n") },
      { path: VYOS_NFT_PATH, mode: 0o644, content: words.nft(tun) },
      {
        path: VYOS_BOOT_SCRIPT,
        mode: 0o755,
        content: `${VYOS_BOOT_SCRIPT_DEFAULT}# If this file already has lines of your own, add only the block below.\n${vyosBootBlock()}`,
        block: vyosBootMarkedBlock(),
      },
    ],
    warnings,
  };
}
