import { brRouteVia } from "../render/iproute2.ts";
import { shellCommand } from "../render/shell.ts";
import { vyosBrRoute, vyosEthernetPath, vyosLine, vyosTunnelPath } from "../render/vyos.ts";
import { NEXT_HOP_PLACEHOLDER, VYOS_WAN_PLACEHOLDER, WAN_PLACEHOLDER, type CheckContext } from "./context.ts";
import type { DoctorInput } from "./observation.ts";

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
