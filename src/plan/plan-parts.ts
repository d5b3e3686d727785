import { isDsLitePlan, isIpipPlan, type Plan } from "./method.ts";

/**
 * The pieces of a plan that reconcile, down, status and ownership handle, the same for every
 * method: so they work on any plan (and on a switch from one method to another) without asking
 * which method it is. A new method (IPIP) adds its case here.
 */
export interface PlanParts {
  /**
   * The /128 mapectl adds to the WAN as the tunnel's source (MAP-E's CE address); null when the
   * tunnel leaves from an address the WAN already has (DS-Lite's B4 on a WAN with its own address).
   */
  readonly wanAddress: string | null;
  /**
   * The tunnel's far end, routed via the WAN's router at mapectl's metric (MAP-E's BR); null when
   * it is reached through the WAN's default route.
   */
  readonly pinnedRemote: string | null;
  /** The IPv4 address on the tunnel: the router's own IPv4 source. */
  readonly tunnelIpv4: { readonly address: string; readonly prefixLength: number };
  /** What mapectl's nft table does, for the action's summary. */
  readonly table: string;
  /** The name of the method, as people write it. */
  readonly label: string;
}

export function planParts(plan: Plan): PlanParts {
  if (isDsLitePlan(plan)) {
    return {
      wanAddress: plan.addsSource === true ? plan.tunnel.local : null,
      pinnedRemote: null,
      tunnelIpv4: { address: plan.b4Address, prefixLength: plan.b4PrefixLength },
      table: "MSS clamp and inbound filter table (no NAT: the AFTR translates)",
      label: "DS-Lite",
    };
  }
  if (isIpipPlan(plan)) {
    return {
      wanAddress: plan.ceAddress,
      pinnedRemote: plan.br,
      tunnelIpv4: { address: plan.ipv4Address, prefixLength: plan.ipv4PrefixLength },
      table: `masquerade to ${plan.ipv4Address} and filter table (all ports)`,
      label: "IPIP",
    };
  }
  return {
    wanAddress: plan.ceAddress,
    pinnedRemote: plan.br,
    tunnelIpv4: { address: plan.ipv4Address, prefixLength: plan.ipv4PrefixLength },
    table: `NAPT and filter table (${plan.portCount} ports, tcp/udp/icmp)`,
    label: "MAP-E",
  };
}
