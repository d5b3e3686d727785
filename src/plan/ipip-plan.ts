import { ipv6Class } from "../mape/address-class.ts";
import { formatIpv4, ipv4Mask, parseIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, parseIpv6 } from "../mape/ipv6.ts";
import type { IpipFrom } from "../provision/ipip.ts";
import {
  checkLinkInput,
  PlanError,
  tunnelPlanHead,
  type PlanInput,
  type PortForward,
  type TunnelPlanBase,
} from "./plan.ts";

/** The tunnel's name when the user names none (MAP-E's default, "mape", would mislead). */
export const IPIP_TUNNEL_NAME = "ipip";

/**
 * IPIP's desired state: the CE address (the line's prefix and the provider's interface ID) on the
 * WAN, an ip4ip6 tunnel from it to the BR, the fixed IPv4 address on the tunnel and the IPv4
 * default route through it. All ports of the address are the user's: the router masquerades the
 * LAN to it (addresses of a routed block on the LAN go out as they are) and forwards any port.
 */
export interface IpipPlan extends TunnelPlanBase {
  readonly method: "ipip";
  readonly ceAddress: string;
  readonly br: string;
  /** The router's fixed address. */
  readonly ipv4Address: string;
  /**
   * Always 32: the fixed address sits on the tunnel alone (a block on a point-to-point tunnel would
   * make its other addresses look reachable through it). The same field as MAP-E's, so the steps
   * that put an address on a tunnel serve both.
   */
  readonly ipv4PrefixLength: 32;
  /** The routed block: its first address and length (32: the address alone). */
  readonly ipv4Block: string;
  readonly ipv4BlockLength: number;
  readonly forwards: readonly PortForward[];
  readonly from: IpipFrom;
  /**
   * The provider's update URL template (no credentials in it: they are read when it is called and
   * kept out of every plan and state file), and how often to call it; null: no update URL.
   */
  readonly update: { readonly url: string; readonly intervalSeconds: number } | null;
}

export type IpipPlanInput = Pick<
  PlanInput,
  "wan" | "lan" | "gateway" | "tunnelName" | "mtu" | "defaultRouteMetric" | "forwards" | "tunnelOwner"
> & {
  readonly ceAddress: string;
  readonly br: string;
  readonly ipv4Address: string;
  /** The routed block's length (32: the address alone). */
  readonly ipv4BlockLength: number;
  readonly from: IpipFrom;
  readonly update: IpipPlan["update"];
};

function globalIpv6(text: string, what: string): string {
  let value: bigint;
  try {
    value = parseIpv6(text);
  } catch (err) {
    throw new PlanError(`${what} "${text.slice(0, 60)}" is not an IPv6 address: ${(err as Error).message}`);
  }
  const kind = ipv6Class(value);
  if (kind !== "a global unicast address")
    throw new PlanError(`${what} ${formatIpv6(value)} is ${kind}, not global`);
  return formatIpv6(value);
}

function checkForwards(forwards: readonly PortForward[]): void {
  const seen = new Set<string>();
  for (const f of forwards) {
    const key = `${f.protocol}/${f.port}`;
    if (seen.has(key)) throw new PlanError(`port forward ${key} is given twice`);
    seen.add(key);
  }
}

/** verify + generate for IPIP. */
export function buildIpipPlan(input: IpipPlanInput): IpipPlan {
  checkLinkInput(input);
  checkForwards(input.forwards);
  const ce = globalIpv6(input.ceAddress, "the CE address");
  const br = globalIpv6(input.br, "the BR");
  if (ce === br) throw new PlanError(`the CE address and the BR are both ${ce}`);
  const length = input.ipv4BlockLength;
  if (!Number.isInteger(length) || length < 0 || length > 32)
    throw new PlanError(`IPv4 prefix length ${length} is not 0–32`);
  const v4 = parseIpv4(input.ipv4Address);
  return {
    ...tunnelPlanHead("ipip", input, ce, br),
    ceAddress: ce,
    br,
    ipv4Address: formatIpv4(v4),
    ipv4PrefixLength: 32,
    ipv4Block: formatIpv4((v4 & ipv4Mask(length)) >>> 0),
    ipv4BlockLength: length,
    forwards: input.forwards.map((f) => ({ ...f })),
    from: input.from,
    update: input.update === null ? null : { ...input.update },
    defaultRouteMetric: input.defaultRouteMetric,
    tunnelOwner: input.tunnelOwner ?? "mapectl",
  };
}
