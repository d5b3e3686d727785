import { parseIpv6 } from "../mape/ipv6.ts";
import type { HostState, ObservedLink, ObservedTunnel } from "../plan/observed.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import { vyosTunnelName } from "../render/vyos.ts";
import type { Finding } from "./findings.ts";
import { vyosTunnelDefinition } from "./fixes.ts";
import type { DoctorInput } from "./observation.ts";

/** What every check of a MAP-E tunnel works from, computed once per run. */
export interface CheckContext {
  readonly input: DoctorInput;
  readonly host: HostState;
  /** The parameters the line's prefix gives, when it has them. */
  readonly expected: ResolvedParameters | null;
  readonly link: ObservedLink;
  readonly tunnel: ObservedTunnel;
  readonly name: string;
  readonly wan: string | null;
  /** The WAN's IPv6 router, the BR's next hop, when doctor found one. */
  readonly gateway: string | null;
  /** The tunnel's name in VyOS's configuration: its own when VyOS could have made it, else tun0. */
  readonly vyosName: string;
  /**
   * A tunnel VyOS does not manage (made with ip, named other than tunN) cannot be fixed with `set`
   * lines about it: then every tunnel fix on VyOS is the whole tun0 definition, which replaces it.
   */
  readonly vyosDefinition: readonly string[] | null;
}

export function same6(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  try {
    return parseIpv6(a) === parseIpv6(b);
  } catch {
    return false;
  }
}

export function ok(id: Finding["id"], summary: string, evidence: Record<string, unknown> = {}): Finding {
  return { id, verdict: "ok", summary, evidence, fix: [] };
}

/** The MAP-E tunnel, even when mapectl did not make it: an ip4ip6 ip6tnl with real endpoints. */
export function findTunnel(host: HostState, preferred: string | null): ObservedLink | null {
  const candidates = host.links.filter(
    (l) =>
      l.kind === "ip6tnl" &&
      l.tunnel !== null &&
      (l.tunnel.mode === "ipip6" || l.tunnel.mode === "ip4ip6" || l.tunnel.mode === "any") &&
      l.tunnel.remote !== null &&
      !same6(l.tunnel.remote, "::"),
  );
  const carrying = host.routes.find(
    (r) => r.family === 4 && r.dst === "default" && candidates.some((c) => c.name === r.dev),
  );
  return (
    candidates.find((c) => c.name === preferred) ??
    candidates.find((c) => c.name === carrying?.dev) ??
    candidates[0] ??
    null
  );
}

/** The device of the IPv4 default route the kernel uses (lowest metric), if any. */
export function ipv4DefaultDev(host: HostState): string | null {
  const defaults = host.routes.filter(
    (r) => r.family === 4 && (r.dst === "default" || r.dst === "0.0.0.0/0") && r.type === "unicast",
  );
  return [...defaults].sort((a, b) => a.metric - b.metric)[0]?.dev ?? null;
}

/**
 * The WAN's IPv6 router, the BR's next hop: the RA default route first, then what mapectl recorded,
 * then routers in the neighbour table, then any other route via a link-local router on the WAN.
 * Never one whose neighbour entry FAILED.
 */
function gatewayOf(input: DoctorInput, wan: string | null): string | null {
  const onWan = (dev: string | null) => wan === null || dev === wan;
  const dead = (address: string) =>
    input.neighbours.some((n) => same6(n.address, address) && n.state.includes("FAILED"));
  const routes = input.host.routes.filter(
    (r) => r.family === 6 && r.gateway !== null && onWan(r.dev) && r.type === "unicast",
  );
  const candidates = [
    ...routes.filter((r) => r.dst === "default").map((r) => r.gateway),
    input.knownGateway ?? null,
    ...input.neighbours.filter((n) => n.router === true && onWan(n.dev)).map((n) => n.address),
    input.brRoute?.gateway ?? null,
    ...routes.filter((r) => r.gateway?.toLowerCase().startsWith("fe80:") === true).map((r) => r.gateway),
  ];
  return candidates.find((c): c is string => c != null && !dead(c)) ?? null;
}

function expectedParameters(input: DoctorInput): ResolvedParameters | null {
  return input.expected !== null && "resolved" in input.expected ? input.expected.resolved : null;
}

/** The context of the MAP-E tunnel's checks, or null when there is no tunnel to check. */
export function checkContext(input: DoctorInput): CheckContext | null {
  const link = findTunnel(input.host, input.preferredTunnel);
  if (link?.tunnel == null) return null;
  const expected = expectedParameters(input);
  const name = link.name;
  const wan = input.wan ?? link.tunnel.link;
  const gateway = gatewayOf(input, wan);
  const vyosName = vyosTunnelName(name);
  return {
    input,
    host: input.host,
    expected,
    link,
    tunnel: link.tunnel,
    name,
    wan,
    gateway,
    vyosName,
    vyosDefinition:
      vyosName !== name && expected !== null ? vyosTunnelDefinition(expected, name, wan, gateway) : null,
  };
}
