import { formatIpv6, parseIpv6 } from "../mape/ipv6.ts";
import type { AftrFrom, AftrParameters } from "../provision/dslite.ts";
import { checkLinkInput, PlanError, tunnelPlanHead, type PlanInput, type TunnelPlanBase } from "./plan.ts";

/**
 * RFC 6333 §5.7: the B4 and the AFTR number their ends of the softwire from 192.0.0.0/29, the B4
 * 192.0.0.2 and the AFTR 192.0.0.1. The router's own IPv4 traffic leaves from the B4 address.
 */
export const B4_ADDRESS = "192.0.0.2";
export const B4_PREFIX_LENGTH = 29;
export const AFTR_IPV4 = "192.0.0.1";

/** The tunnel's name when the user names none (MAP-E's default, "mape", would mislead). */
export const DS_LITE_TUNNEL_NAME = "dslite";

/**
 * Stands in for the tunnel's IPv6 source when a plan is built away from the router: not an
 * address, so ip, VyOS and networkd refuse it instead of tunnelling from a wrong one.
 */
export const WAN_ADDRESS_PLACEHOLDER = "WAN-IPV6-ADDRESS";

/**
 * DS-Lite's desired state: an ip4ip6 tunnel from the WAN's address to the AFTR, the B4 address on
 * it and the IPv4 default route through it. No NAT on the router: the AFTR translates (RFC 6333
 * §6.6), so LAN addresses go into the tunnel as they are, and mapectl's table only clamps the MSS.
 */
export interface DsLitePlan extends TunnelPlanBase {
  readonly method: "ds-lite";
  readonly aftr: {
    readonly address: string;
    /** The name it was resolved from; the daemon resolves it again and follows a change. */
    readonly name: string | null;
    readonly from: AftrFrom;
    readonly service: string | null;
  };
  readonly b4Address: string;
  readonly b4PrefixLength: number;
  readonly aftrIpv4: string;
  /**
   * True when the tunnel's source is a /128 of the delegated prefix that mapectl adds to the WAN (a
   * line that gives the WAN no address); false or absent: the WAN's own address.
   */
  readonly addsSource?: boolean;
}

export type DsLitePlanInput = Pick<
  PlanInput,
  "wan" | "lan" | "gateway" | "tunnelName" | "mtu" | "defaultRouteMetric" | "forwards" | "tunnelOwner"
> & {
  /** The WAN's global IPv6 address, or WAN_ADDRESS_PLACEHOLDER away from the router. */
  readonly local: string;
  /** The AFTR with its address known (a name resolved by the caller). */
  readonly aftr: AftrParameters & { readonly address: string };
};

function ipv6(text: string, what: string): string {
  try {
    return formatIpv6(parseIpv6(text));
  } catch (err) {
    throw new PlanError(`${what} "${text.slice(0, 60)}" is not an IPv6 address: ${(err as Error).message}`);
  }
}

/** verify + generate for DS-Lite. */
export function buildDsLitePlan(input: DsLitePlanInput): DsLitePlan {
  checkLinkInput(input);
  if (input.forwards.length > 0) {
    throw new PlanError(
      "port forwards need the router's own IPv4 address, and on DS-Lite the AFTR's NAT holds it: remove the forwards, or use MAP-E or a fixed IPv4 address (IPIP)",
    );
  }
  const local =
    input.local === WAN_ADDRESS_PLACEHOLDER ? input.local : ipv6(input.local, "the B4's IPv6 address");
  const remote = ipv6(input.aftr.address, "the AFTR's address");
  return {
    ...tunnelPlanHead("ds-lite", input, local, remote),
    aftr: { address: remote, name: input.aftr.name, from: input.aftr.from, service: input.aftr.service },
    b4Address: B4_ADDRESS,
    b4PrefixLength: B4_PREFIX_LENGTH,
    aftrIpv4: AFTR_IPV4,
    defaultRouteMetric: input.defaultRouteMetric,
    tunnelOwner: input.tunnelOwner ?? "mapectl",
  };
}
