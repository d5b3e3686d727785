import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6 } from "../mape/ipv6.ts";
import { MAX_TUNNEL_MTU } from "../plan/plan.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import { brRouteVia } from "../render/iproute2.ts";
import { shellCommand } from "../render/shell.ts";
import {
  VYOS_DEFAULT_TUNNEL,
  vyosBrRoute,
  vyosCeAddress,
  vyosEthernetPath,
  vyosIpv4Default,
  vyosLine,
  vyosTunnelLines,
  vyosTunnelPath,
} from "../render/vyos.ts";
import type { CheckContext } from "./context.ts";
import type { DoctorInput } from "./observation.ts";

/**
 * Stand-ins for what doctor could not find out: WAN and GATEWAY are no valid value, so a fix with
 * one fails where it is run instead of doing something else; VyOS fixes name its usual WAN.
 */
export const WAN_PLACEHOLDER = "WAN";
export const VYOS_WAN_PLACEHOLDER = "eth1";
export const NEXT_HOP_PLACEHOLDER = "GATEWAY";

/** What re-applies the whole configuration: mapectl's own command when it made this router. */
export function reapplyCommand(input: DoctorInput): string {
  return (
    input.reapply ?? shellCommand(["mapectl", "up", ...(input.wan === null ? [] : ["--wan", input.wan])])
  );
}

/** Says what to put in place of GATEWAY when doctor found no router on the WAN. */
export function gatewayNote(ctx: CheckContext): string[] {
  return ctx.gateway === null
    ? [
        `# ${NEXT_HOP_PLACEHOLDER}: the WAN's IPv6 router (link-local, from its Router Advertisement: ip -6 route show default)`,
      ]
    : [];
}

/** The BR's /128 via the WAN's router: the NGN does not answer neighbour solicitations for the BR. */
export function brRouteFix(ctx: CheckContext, br: string): string {
  return shellCommand(
    brRouteVia("replace", br, ctx.gateway ?? NEXT_HOP_PLACEHOLDER, ctx.wan ?? WAN_PLACEHOLDER),
  );
}

export function vyosBrRouteFix(ctx: CheckContext, br: string, wan: string): string {
  return vyosBrRoute(br, ctx.gateway ?? NEXT_HOP_PLACEHOLDER, wan);
}

/** A change to the tunnel on VyOS: the lines, or the whole tun0 definition for a tunnel VyOS does not know. */
export function vyosTunnelFix(ctx: CheckContext, lines: readonly string[]): readonly string[] {
  return ctx.vyosDefinition ?? [...lines, "commit"];
}

/** `set|delete interfaces tunnel <VyOS's name> …`. */
export function vyosTunnel(ctx: CheckContext, verb: "set" | "delete", ...words: string[]): string {
  return vyosLine(verb, ...vyosTunnelPath(ctx.vyosName), ...words);
}

/** `set|delete interfaces ethernet <WAN> address A/128`. */
export function vyosWanAddress(verb: "set" | "delete", wan: string | null, address: string): string {
  return vyosLine(verb, ...vyosEthernetPath(wan ?? VYOS_WAN_PLACEHOLDER), "address", `${address}/128`);
}

/** The whole tun0 definition for VyOS, as `mapectl render --target vyos` gives it, replacing a hand-made tunnel. */
export function vyosTunnelDefinition(
  expected: ResolvedParameters,
  name: string,
  wan: string | null,
  gateway: string | null,
): string[] {
  const p = expected.params;
  const br = p.rule.br === null ? "BR" : formatIpv6(p.rule.br);
  const ce = formatIpv6(p.ceAddress);
  const w = wan ?? VYOS_WAN_PLACEHOLDER;
  const tunnel = VYOS_DEFAULT_TUNNEL;
  return [
    `# ${name} was made outside VyOS's configuration (VyOS names tunnels tunN): define ${tunnel}, then remove ${name} with: sudo ip link del ${name}`,
    vyosCeAddress(vyosEthernetPath(w), ce),
    // as render --target vyos: the BR is reached by the WAN's RA default route, which follows the
    // NGN's router; a route6 pinned to its link-local address would black-hole the tunnel when it changes
    `# only where IPv6 must not leave by ${w}'s default route: ${vyosBrRoute(br, gateway ?? NEXT_HOP_PLACEHOLDER, w)}`,
    ...vyosTunnelLines({
      wan: w,
      tunnel,
      local: ce,
      br,
      mtu: MAX_TUNNEL_MTU,
      ipv4Address: formatIpv4(p.ipv4Address),
    }),
    vyosIpv4Default(tunnel),
    "commit",
  ];
}
