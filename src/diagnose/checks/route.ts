import { forwarding, ipv4DefaultDev as defaultRoute } from "../../render/iproute2.ts";
import { shellCommand } from "../../render/shell.ts";
import { vyosIpv4Default } from "../../render/vyos.ts";
import { type CheckContext, ok, same6 } from "../context.ts";
import type { Finding } from "../findings.ts";
import { brRouteFix, gatewayNote, vyosBrRouteFix, vyosTunnelFix } from "../fixes.ts";
import type { Neighbour } from "../observation.ts";

/** The route to the BR must go via the WAN's link-local router, not on-link, and that router must answer. */
export function brRoute(ctx: CheckContext): Finding | null {
  const remote = ctx.tunnel.remote;
  if (remote === null) return null;
  const { wan, gateway } = ctx;
  const route = ctx.input.brRoute;
  const failed = (address: string, dev: string | null): Neighbour | undefined =>
    ctx.input.neighbours.find(
      (n) => same6(n.address, address) && (dev === null || n.dev === dev) && n.state.includes("FAILED"),
    );
  // Only the next hop's entry matters: an old FAILED entry for the BR itself (left from an
  // on-link route) says nothing once the route goes via a router.
  const neighbourFailed = route === null ? undefined : failed(route.gateway ?? remote, route.dev);
  const fix = wan === null ? [] : [...gatewayNote(ctx), brRouteFix(ctx, remote)];
  const vyosFix = wan === null ? [] : [vyosBrRouteFix(ctx, remote, wan), "commit"];
  if (route === null)
    return {
      id: "br-route",
      verdict: "fail",
      summary: `there is no route to the BR ${remote}: nothing can leave through the tunnel`,
      evidence: { br: remote, gateway },
      fix,
      vyosFix,
    };
  if (route.gateway === null)
    return {
      id: "br-route",
      verdict: "fail",
      summary: `the BR ${remote} is routed on-link (dev ${route.dev ?? "?"}, no gateway): the NGN does not answer neighbour solicitations for it, so packets never leave${neighbourFailed === undefined ? "" : " (neighbour entry FAILED)"}`,
      evidence: { br: remote, route, neighbour: neighbourFailed ?? null, gateway },
      fix,
      vyosFix,
    };
  if (neighbourFailed !== undefined)
    return {
      id: "br-route",
      verdict: "fail",
      summary: `the next hop ${neighbourFailed.address} towards the BR does not answer (neighbour FAILED on ${neighbourFailed.dev})`,
      evidence: { br: remote, route, neighbour: neighbourFailed, gateway },
      fix,
      vyosFix,
    };
  return ok("br-route", `the BR is reached via ${route.gateway} dev ${route.dev ?? "?"}`);
}

/** IPv4 leaves through the route with the lowest metric, which must be the tunnel's. */
export function ipv4DefaultRoute(ctx: CheckContext): Finding {
  const { name } = ctx;
  const defaults = ctx.host.routes.filter(
    (r) => r.family === 4 && (r.dst === "default" || r.dst === "0.0.0.0/0"),
  );
  const best = [...defaults].sort((a, b) => a.metric - b.metric)[0];
  if (best?.dev === name) return ok("ipv4-default-route", `IPv4 default route via ${name}`);
  return {
    id: "ipv4-default-route",
    verdict: "fail",
    summary:
      best === undefined
        ? "there is no IPv4 default route"
        : `the IPv4 default route goes via ${best.dev ?? best.gateway ?? "?"}, not the tunnel ${name}`,
    evidence: { defaults },
    fix: [shellCommand(defaultRoute("replace", name))],
    vyosFix: vyosTunnelFix(ctx, [vyosIpv4Default(ctx.vyosName)]),
  };
}

export function ipv4Forwarding(ctx: CheckContext): Finding {
  if (ctx.host.ipv4Forwarding !== false) return ok("ipv4-forwarding", "IPv4 forwarding is on");
  return {
    id: "ipv4-forwarding",
    verdict: "warn",
    summary: "IPv4 forwarding is off: LAN hosts cannot reach the tunnel",
    evidence: {},
    fix: [shellCommand(forwarding(true))],
  };
}
