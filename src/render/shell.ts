import { GATEWAY_PLACEHOLDER } from "../plan/desired.ts";
import type { MapePlan } from "../plan/plan.ts";
import {
  brRoute,
  ceAddressDel,
  forwarding,
  ipv4Address,
  ipv4Default,
  linkDel,
  linkSet,
  ROUTE_PROTOCOL,
  tunnelAdd,
  tunnelChange,
  type Argv,
  type TunnelEnds,
  wanAddressAdd,
} from "./iproute2.ts";
import { NFT_TABLE, renderNftables } from "./nftables.ts";
import { shellComment, shellLineWord, shellQuote } from "../text/shell.ts";

export { shellQuote };

/** One command on one line: every word quoted, none allowed to break the line. */
export function shellCommand(argv: Argv): string {
  return argv.map(shellLineWord).join(" ");
}

export const NFT_DELIMITER = "MAPECTL_NFT";

/** One sentence describing the line, for the first comment of every rendered file. */
export function planSummary(plan: MapePlan): string {
  const p = plan.parameters;
  const service = typeof p.serviceName === "string" ? `${p.serviceName}, ` : "";
  const blocks = plan.portSets.length;
  return `${service}IPv4 ${plan.ipv4Address} PSID ${String(p.psid)} (${plan.portCount} ports in ${blocks} block${blocks === 1 ? "" : "s"}), CE ${plan.ceAddress}, BR ${plan.br}`;
}

/**
 * Comment lines telling the user how to fill in the gateway, or nothing when the plan has it;
 * `comment` is the comment escaper of the file's format.
 */
export function gatewayNote(
  plan: Pick<MapePlan, "gateway" | "wan">,
  comment: (text: string) => string = shellComment,
): string[] {
  if (plan.gateway !== GATEWAY_PLACEHOLDER) return [];
  return [
    comment(
      `REPLACE ${GATEWAY_PLACEHOLDER}: this was rendered away from the router, without the BR's next hop.`,
    ),
    comment(`It is the WAN's IPv6 default router, the fe80:: address after "via" in`),
    comment(`  ip -6 route show default dev ${plan.wan}`),
  ];
}

/** A message on stderr that starts with the script's name; the text itself is quoted, never expanded. */
export function errorLine(message: string): string {
  return `echo "$0: "${shellLineWord(message)} >&2`;
}

function guarded(test: Argv, absent: readonly string[]): string[] {
  return [`if [ -z "$(${shellCommand(test)})" ]; then`, ...absent.map((l) => `\t${l}`), "fi"];
}

/**
 * A POSIX sh script that builds on a fresh host exactly what `mapectl up` builds (the commands of
 * freshSetupCommands and the same nft table), so MAP-E can run where mapectl cannot. Safe to run
 * twice: every step that would fail the second time is guarded.
 */
export function renderShell(plan: MapePlan): string {
  return renderCeTunnelShell(plan, {
    title: `MAP-E: ${planSummary(plan)}.`,
    nft: renderNftables(plan),
    ipv4PrefixLength: plan.ipv4PrefixLength,
    ceComment:
      "# The CE address is the tunnel's IPv6 source: the BR accepts the IPv4 address and ports only from it.",
    natComment: "# The NAPT into this line's ports, last: replacing the table is one atomic transaction.",
    upMessage: `MAP-E is up: IPv4 ${plan.ipv4Address} through ${plan.tunnel.name}`,
  });
}

/** What MAP-E and IPIP build alike: the CE address on the WAN, the BR's route, the tunnel with an IPv4 address. */
export type CeTunnelPlan = Pick<
  MapePlan,
  "wan" | "tunnel" | "gateway" | "ceAddress" | "br" | "ipv4Address" | "defaultRouteMetric"
>;

/** The words of a CE-tunnel script that differ between methods. */
export interface CeTunnelScript {
  readonly title: string;
  readonly nft: string;
  /** The length of the address on the tunnel. */
  readonly ipv4PrefixLength: number;
  readonly ceComment: string;
  readonly natComment: string;
  readonly upMessage: string;
}

/** A POSIX sh script for a method whose tunnel leaves from a CE address (MAP-E, IPIP). */
export function renderCeTunnelShell(plan: CeTunnelPlan, words: CeTunnelScript): string {
  return [...shellPreamble(plan, words.title), ...shellSetup(plan, words), ...shellUndoNote(plan)].join("\n");
}

/** The header and every check, before the first change: a missing tool or interface changes nothing. */
function shellPreamble(plan: CeTunnelPlan, title: string): string[] {
  const lines = shellChecks(title, plan.wan);
  if (plan.gateway === GATEWAY_PLACEHOLDER) {
    lines.push(
      "",
      ...gatewayNote(plan),
      shellComment(
        `and put it in place of every ${GATEWAY_PLACEHOLDER} in this file, e.g. sed -i 's/${GATEWAY_PLACEHOLDER}/fe80::1234/' THIS-FILE`,
      ),
      `case ${GATEWAY_PLACEHOLDER} in *GATEWAY*)`,
      `\t${errorLine(`replace ${GATEWAY_PLACEHOLDER} with the WAN's IPv6 default router first (ip -6 route show default dev ${plan.wan})`)}`,
      "\texit 2",
      "esac",
    );
  }
  return lines;
}

/** The header and the checks every method's script starts with. */
export function shellChecks(title: string, wan: string): string[] {
  return [
    "#!/bin/sh",
    shellComment(title),
    "# Rendered by `mapectl render --target shell`: it builds what `mapectl up` builds, without mapectl.",
    "# Run it as root on the router; running it again changes nothing that is already in place.",
    "# `mapectl down` does not know about what it builds: the commands to undo it are at the end.",
    "set -eu",
    "",
    "# Every check comes before the first change, so a missing tool or interface leaves the host as it was.",
    "for tool in ip nft sysctl; do",
    '\tcommand -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool is missing (install iproute2 and nftables)" >&2; exit 5; }',
    "done",
    `[ "$(id -u)" -eq 0 ] || { echo "$0: run this as root" >&2; exit 5; }`,
    `${shellCommand(["ip", "link", "show", "dev", wan])} >/dev/null 2>&1 || { ${errorLine(`the WAN interface ${wan} does not exist`)}; exit 5; }`,
  ];
}

/** The nft script as a function of the shell script, checked before anything changes. */
export function shellNftScript(nft: string): string[] {
  if (nft.split("\n").includes(NFT_DELIMITER)) {
    throw new Error(`the nft script contains the here-document delimiter ${NFT_DELIMITER}`);
  }
  return [
    "nft_script() {",
    `\tcat <<'${NFT_DELIMITER}'`,
    ...nft.trimEnd().split("\n"),
    NFT_DELIMITER,
    "}",
    "# nft checks the whole table before anything on the host changes.",
    "nft_script | nft -c -f -",
  ];
}

/** The tunnel, changed in place when it exists (its address and routes survive), then up. */
export function shellTunnel(plan: TunnelEnds): string[] {
  const tun = plan.tunnel.name;
  return [
    `if ${shellCommand(["ip", "link", "show", "dev", tun])} >/dev/null 2>&1; then`,
    `\t${shellCommand(tunnelChange(plan))}`,
    `\t${shellCommand(linkSet(tun, ["mtu", String(plan.tunnel.mtu)]))}`,
    "else",
    `\t${shellCommand(tunnelAdd(plan))}`,
    "fi",
    shellCommand(linkSet(tun, ["up"])),
  ];
}

/** The tunnel's IPv4 address and mapectl's default route through it, each added only when missing. */
export function shellIpv4Side(tun: string, address: string, prefixLength: number, metric: number): string[] {
  return [
    ...guarded(
      ["ip", "-4", "addr", "show", "dev", tun, "to", `${address}/${prefixLength}`],
      [shellCommand(ipv4Address("add", address, prefixLength, tun))],
    ),
    shellComment(`proto ${ROUTE_PROTOCOL} marks the route as mapectl's, as \`mapectl up\` does.`),
    ...guarded(
      ["ip", "-4", "route", "show", "default", "dev", tun, "proto", ROUTE_PROTOCOL],
      [shellCommand(ipv4Default("add", tun, metric))],
    ),
  ];
}

/**
 * The /128 the tunnel leaves from, added to the WAN when missing (MAP-E's and IPIP's CE address,
 * DS-Lite's B4 source on a line that gives the WAN no address), as `mapectl up` adds it.
 */
export function shellWanAddress(address: string, wan: string): string[] {
  return [
    "# nodad: it lies inside this line's own prefix, so nobody else on the link can hold it.",
    ...guarded(
      ["ip", "-6", "addr", "show", "dev", wan, "to", `${address}/128`],
      [shellCommand(wanAddressAdd(address, wan, true))],
    ),
  ];
}

/** The changes, in `mapectl up`'s order, each guarded so a second run changes nothing. */
function shellSetup(plan: CeTunnelPlan, words: CeTunnelScript): string[] {
  const tun = plan.tunnel.name;
  return [
    "",
    ...shellNftScript(words.nft),
    "",
    "# The router forwards IPv4 between the LAN and the tunnel.",
    shellCommand(forwarding(true)),
    "",
    words.ceComment,
    ...shellWanAddress(plan.ceAddress, plan.wan),
    "",
    ...gatewayNote(plan),
    "# The BR is reached through the WAN's default router; NGN does not put it on the link.",
    shellCommand(brRoute("replace", plan.br, plan.gateway, plan.wan)),
    "",
    "# ip4ip6 to the BR, without the encapsulation-limit option that BRs drop; an existing tunnel of the",
    "# same name is changed in place, so its address and routes survive a prefix change.",
    ...shellTunnel(plan),
    ...shellIpv4Side(tun, plan.ipv4Address, words.ipv4PrefixLength, plan.defaultRouteMetric),
    "",
    words.natComment,
    "nft_script | nft -f -",
    `echo ${shellLineWord(words.upMessage)}`,
  ];
}

/** `mapectl down` does not know what the script built: the commands that undo it, as comments. */
function shellUndoNote(plan: CeTunnelPlan): string[] {
  const tun = plan.tunnel.name;
  return [
    "",
    "# To undo it:",
    shellComment(`  ${shellCommand(["nft", "delete", "table", "ip", NFT_TABLE])}`),
    shellComment(`  ${shellCommand(linkDel(tun))}`),
    shellComment(`  ${shellCommand(brRoute("del", plan.br, plan.gateway, plan.wan))}`),
    shellComment(`  ${shellCommand(ceAddressDel(plan.ceAddress, plan.wan))}`),
    "# (net.ipv4.ip_forward stays on: other things on the router may need it.)",
    "",
  ];
}
