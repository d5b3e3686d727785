import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { interfaceNameProblem } from "./interface-name.ts";
import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6 } from "../mape/ipv6.ts";
import { portFold } from "../mape/port-fold.ts";
import { portInSet, type PortRange } from "../mape/port-set.ts";
import { parametersJson, type ParametersJson, type ResolvedParameters } from "../provision/parameters.ts";
import { oneLine } from "../text/one-line.ts";
import { MapectlError } from "../mape/errors.ts";

/** A port forward from the MAP-E IPv4 address to a host inside. */
export interface PortForward {
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  readonly toAddress: string;
  readonly toPort: number;
}

/** What the user asks for, besides the parameters. */
export interface PlanInput {
  readonly resolved: ResolvedParameters;
  readonly wan: string;
  readonly lan: readonly string[];
  /** The WAN's IPv6 default router (a link-local address learned from RA), the BR's next hop. */
  readonly gateway: string;
  readonly tunnelName: string;
  readonly mtu: number;
  readonly defaultRouteMetric: number;
  readonly forwards: readonly PortForward[];
  /** Conntrack TIME_WAIT for TCP flows through the tunnel, in seconds; absent or null: the kernel's. */
  readonly tcpTimeWait?: number | null;
  readonly tunnelOwner?: "mapectl" | "vyos";
  /** The kernel has nftables flowtables: established flows through the tunnel take the fast path. */
  readonly fastPath?: boolean;
  /** How new flows get their port; absent: fold where the port set has more than one block. */
  readonly allocator?: NatAllocator;
  /**
   * The kernel has netdev egress hooks (5.16+, CONFIG_NETFILTER_EGRESS): the fold can go on the
   * tunnel device, where fast-pathed packets pass too. Absent: no.
   */
  readonly netdevEgress?: boolean;
  /** At most this many flows through the tunnel per LAN host at once; absent or null: no limit. */
  readonly maxPortsPerHost?: number | null;
}

/** What the plan of every method has: the interfaces and an ip4ip6 tunnel from local to remote. */
export interface TunnelPlanBase {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly wan: string;
  readonly lan: readonly string[];
  /** The WAN's IPv6 default router (link-local, from RA). */
  readonly gateway: string;
  readonly tunnel: {
    readonly name: string;
    /** The tunnel's IPv6 source: MAP-E's CE address, DS-Lite's WAN address. */
    readonly local: string;
    /** The BR or the AFTR. */
    readonly remote: string;
    readonly mtu: number;
  };
  readonly defaultRouteMetric: number;
  /**
   * vyos: VyOS's configuration makes the tunnel, addresses and routes, and mapectl applies only its
   * own table. Absent (state files from before it existed) means mapectl.
   */
  readonly tunnelOwner?: "mapectl" | "vyos";
}

/**
 * fold: the kernel allocates from one contiguous range as large as the port set and mapectl's
 * table translates each port to the set's and back, so a new flow finds any free port of the set;
 * round-robin: one block per new flow in turn, the kernel a free port in it (the fallback where nft
 * or the kernel cannot mangle ports through a map).
 */
export type NatAllocator = "fold" | "round-robin";

/**
 * The desired state: the single source of truth that `up` applies, `render` prints, `status`
 * and `doctor` compare the host with. Plain data (strings and numbers) so it can be stored as JSON.
 */
export interface MapePlan extends TunnelPlanBase {
  /** Absent in state files written before DS-Lite existed: MAP-E. */
  readonly method?: "map-e";
  readonly ceAddress: string;
  readonly br: string;
  readonly ipv4Address: string;
  readonly ipv4PrefixLength: number;
  /** The last address of a shared IPv4 prefix; equal to ipv4Address for a single address. */
  readonly ipv4LastAddress: string;
  readonly portSets: readonly PortRange[];
  readonly portCount: number;
  readonly forwards: readonly PortForward[];
  /**
   * Conntrack TIME_WAIT of TCP flows through the tunnel, in seconds, or null for the kernel's 120 s.
   * Absent in state files written before it existed.
   */
  readonly tcpTimeWait?: number | null;
  /**
   * Established TCP and UDP flows between the LAN interfaces and the tunnel skip the forward path
   * (an nftables flowtable). Absent (state files from before it existed, or no LAN) means no.
   */
  readonly fastPath?: boolean;
  /** Absent in state files written before it existed: round-robin, the only allocator then. */
  readonly allocator?: NatAllocator;
  /** Flows through the tunnel one LAN host may hold at once (ct count); null or absent: no limit. */
  readonly maxPortsPerHost?: number | null;
  /** The calc object these values came from, for status and doctor. */
  readonly parameters: ParametersJson;
}

export class PlanError extends MapectlError {
  constructor(message: string) {
    super("config", oneLine(message));
    this.name = "PlanError";
  }
}

/** The one nftables table mapectl owns; nothing else is ever touched. */
export const NFT_TABLE = "mapectl";

/** IPv6 minimum MTU to the NGN's 1500 less the 40-byte outer header. */
export const MIN_TUNNEL_MTU = 1280;
export const MAX_TUNNEL_MTU = 1460;

function nearestAllowed(port: number, params: ResolvedParameters["params"]): string {
  const { psidOffset, psidLength } = params.rule;
  let below: number | null = null;
  let above: number | null = null;
  for (let p = port - 1; p >= 0 && below === null; p--)
    if (portInSet(p, psidOffset, psidLength, params.psid)) below = p;
  for (let p = port + 1; p <= 65535 && above === null; p++)
    if (portInSet(p, psidOffset, psidLength, params.psid)) above = p;
  return [below, above].filter((p) => p !== null).join(" or ");
}

/** 2 MSL as RFC 793 counts it (4 minutes): a longer TIME_WAIT only holds ports for nothing. */
export const MAX_TCP_TIME_WAIT = 240;

/** The fields every method's plan starts with: the interfaces and the tunnel from local to remote. */
export function tunnelPlanHead<M extends string>(
  method: M,
  input: Pick<PlanInput, "wan" | "lan" | "gateway" | "tunnelName" | "mtu">,
  local: string,
  remote: string,
): Pick<TunnelPlanBase, "schemaVersion" | "wan" | "lan" | "gateway" | "tunnel"> & { readonly method: M } {
  return {
    schemaVersion: SCHEMA_VERSION,
    method,
    wan: input.wan,
    lan: [...input.lan],
    gateway: input.gateway,
    tunnel: { name: input.tunnelName, local, remote, mtu: input.mtu },
  };
}

/** What every method's tunnel needs of the user's input, checked before the kernel would refuse it. */
export type LinkInput = Pick<PlanInput, "wan" | "lan" | "tunnelName" | "mtu" | "defaultRouteMetric">;

/** The checks every method's plan makes of names, MTU and metric. */
export function checkLinkInput(input: LinkInput): void {
  for (const [what, name] of [
    ["WAN interface", input.wan],
    ["tunnel name", input.tunnelName],
    ...input.lan.map((l) => ["LAN interface", l] as const),
  ] as const) {
    const problem = interfaceNameProblem(what, name);
    if (problem !== null) throw new PlanError(problem);
  }
  if (input.tunnelName === input.wan || input.lan.includes(input.tunnelName)) {
    throw new PlanError(
      `tunnel name "${input.tunnelName}" is already the name of the WAN or a LAN interface`,
    );
  }
  if (input.lan.includes(input.wan)) throw new PlanError(`"${input.wan}" cannot be both WAN and LAN`);
  if (!Number.isInteger(input.mtu) || input.mtu < MIN_TUNNEL_MTU || input.mtu > MAX_TUNNEL_MTU) {
    throw new PlanError(
      `tunnel MTU ${input.mtu} is outside ${MIN_TUNNEL_MTU}–${MAX_TUNNEL_MTU} (1460 = the NGN's 1500 less the 40-byte IPv6 header)`,
    );
  }
  if (
    !Number.isInteger(input.defaultRouteMetric) ||
    input.defaultRouteMetric < 0 ||
    input.defaultRouteMetric > 0xffffffff
  ) {
    throw new PlanError(
      `default-route metric ${input.defaultRouteMetric} is not a whole number from 0 to 4294967295`,
    );
  }
}

/** verify + generate: checks what the kernel would otherwise reject halfway, then builds the plan. */
export function buildPlan(input: PlanInput): MapePlan {
  const { params } = input.resolved;
  checkLinkInput(input);
  const timeWait = input.tcpTimeWait ?? null;
  if (timeWait !== null && (!Number.isInteger(timeWait) || timeWait < 1 || timeWait > MAX_TCP_TIME_WAIT)) {
    throw new PlanError(
      `TCP TIME_WAIT ${timeWait} s is not a whole number from 1 to ${MAX_TCP_TIME_WAIT} (the kernel's own is 120)`,
    );
  }
  const perHost = input.maxPortsPerHost ?? null;
  if (perHost !== null && (!Number.isInteger(perHost) || perHost < 1 || perHost > params.portCount)) {
    throw new PlanError(
      `max-ports-per-host ${perHost} is not a whole number from 1 to ${params.portCount} (the ports of this line)`,
    );
  }
  const allocator = effectiveAllocator(input.allocator ?? "fold", params.portSets, params.ipv4PrefixLength);
  if (params.rule.br === null) {
    throw new PlanError("no BR address: the rule has none; give it with --br or br = … in the configuration");
  }
  const seen = new Set<string>();
  for (const f of input.forwards) {
    const key = `${f.protocol}/${f.port}`;
    if (seen.has(key)) throw new PlanError(`port forward ${key} is given twice`);
    seen.add(key);
    if (!portInSet(f.port, params.rule.psidOffset, params.rule.psidLength, params.psid)) {
      throw new PlanError(
        `port forward ${key} is outside this line's port set (PSID ${params.psid}); the nearest allowed ports are ${nearestAllowed(f.port, params)}`,
      );
    }
  }
  return {
    ...tunnelPlanHead("map-e", input, formatIpv6(params.ceAddress), formatIpv6(params.rule.br)),
    ceAddress: formatIpv6(params.ceAddress),
    br: formatIpv6(params.rule.br),
    ipv4Address: formatIpv4(params.ipv4Address),
    ipv4PrefixLength: params.ipv4PrefixLength,
    ipv4LastAddress: formatIpv4(params.ipv4Address + 2 ** (32 - params.ipv4PrefixLength) - 1),
    defaultRouteMetric: input.defaultRouteMetric,
    portSets: params.portSets.map(([a, b]) => [a, b] as const),
    portCount: params.portCount,
    forwards: input.forwards.map((f) => ({ ...f })),
    tcpTimeWait: timeWait,
    tunnelOwner: input.tunnelOwner ?? "mapectl",
    allocator,
    maxPortsPerHost: perHost,
    // The flowtable sends a flow's packets past postrouting: the fold then goes on the tunnel
    // device's egress and ingress hooks. Without egress hooks the fold stays in postrouting and the
    // fast path is left out: a fast-pathed flow would leave with its allocated port, which the BR
    // drops, and no new flow failing while a port is free is worth more than the cheaper path.
    fastPath:
      input.fastPath === true &&
      input.lan.length > 0 &&
      (allocator !== "fold" || input.netdevEgress === true),
    parameters: parametersJson(input.resolved),
  };
}

/** Fold only where there is something to fold: a single address whose set has several blocks. */
function effectiveAllocator(
  wanted: NatAllocator,
  sets: readonly PortRange[],
  prefixLength: number,
): NatAllocator {
  return wanted === "fold" && prefixLength === 32 && portFold(sets) !== null ? "fold" : "round-robin";
}
