import { computeParameters } from "../mape/compute.ts";
import { MapeError, MapectlError } from "../mape/errors.ts";
import { formatIpv6Prefix, ipv6Mask, parseIpv6, parseIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { resolveParameters, type ResolvedParameters } from "../provision/parameters.ts";
import type { NotMapePrefix, RuleTable } from "../rules/table.ts";
import type { Settings } from "./settings.ts";
import type { HostState } from "./observed.ts";
import { buildPlan, PlanError, type MapePlan } from "./plan.ts";

export interface DetectedPrefix {
  readonly prefix: Ipv6Prefix;
  readonly how: string;
  /** True when only a /64 inside the delegation was seen; the rule says how long the end-user prefix is. */
  readonly widen: boolean;
}

export function isGlobal(address: string): boolean {
  try {
    return parseIpv6(address) >> 125n === 1n; // 2000::/3
  } catch {
    return false;
  }
}

function prefixOf(address: string, length: number): Ipv6Prefix {
  return { value: parseIpv6(address) & ipv6Mask(length), length };
}

/**
 * Where the delegated prefix shows on a Linux router: the unreachable route a DHCPv6-PD client
 * installs for it, a DHCP-learned route, an address a LAN got from it, else the WAN's RA /64.
 */
export function detectPrefix(host: HostState, wan: string, lan: readonly string[]): DetectedPrefix | null {
  for (const r of host.routes) {
    if (r.family !== 6 || !r.dst.includes("/")) continue;
    const [address = "", len = ""] = r.dst.split("/");
    const length = Number(len);
    if (!isGlobal(address) || length < 32 || length > 64) continue;
    if (
      r.type === "unreachable" ||
      r.type === "blackhole" ||
      r.type === "prohibit" ||
      r.protocol === "dhcp"
    ) {
      return {
        prefix: prefixOf(address, length),
        how: `the delegated prefix (route ${r.dst}, ${r.type}, proto ${r.protocol})`,
        widen: false,
      };
    }
  }
  for (const a of host.addresses) {
    if (
      a.family === 6 &&
      lan.includes(a.dev) &&
      isGlobal(a.address) &&
      !a.temporary &&
      a.prefixLength === 64
    ) {
      return {
        prefix: prefixOf(a.address, 64),
        how: `${a.address} on LAN ${a.dev}, from the delegated prefix`,
        widen: true,
      };
    }
  }
  for (const a of host.addresses) {
    if (
      a.family === 6 &&
      a.dev === wan &&
      isGlobal(a.address) &&
      !a.temporary &&
      !a.deprecated &&
      a.prefixLength === 64
    ) {
      return {
        prefix: prefixOf(a.address, 64),
        how: `the WAN's /64 ${a.address} (from RA; no prefix delegation)`,
        widen: false,
      };
    }
  }
  return null;
}

/** The WAN's IPv6 default router, which must be the BR's next hop on NGN. */
export function detectGateway(host: HostState, wan: string): string | null {
  const route = host.routes.find(
    (r) => r.family === 6 && r.dst === "default" && r.dev === wan && r.gateway !== null,
  );
  return route?.gateway ?? null;
}

export class HostNotReady extends MapectlError {
  readonly what: "interface" | "prefix" | "gateway" | "address";
  constructor(what: "interface" | "prefix" | "gateway" | "address", message: string) {
    super("environment", message);
    this.name = "HostNotReady";
    this.what = what;
  }
}

/** What the host tells about the line before any parameters are known. */
export interface PlanContext {
  readonly wan: string;
  readonly prefix: Ipv6Prefix;
  /** True when only a /64 inside the delegation was seen; the rule says how long the end-user prefix is. */
  readonly widen: boolean;
  readonly prefixFrom: string;
  readonly gateway: string;
  /** The kernel has nftables flowtables (for the tunnel's fast path); absent: no. */
  readonly flowtables?: boolean;
}

/** get config: the WAN, the prefix and the BR's next hop, or a sentence saying what is missing. */
export function planContext(settings: Settings, host: HostState): PlanContext {
  const wan = settings.wan;
  if (wan === null) throw new PlanError('no WAN interface: give --wan IF or wan = "IF" in the configuration');
  for (const name of [wan, ...settings.lan]) {
    if (!host.links.some((l) => l.name === name)) {
      throw new HostNotReady("interface", `interface ${name} does not exist on this host (see ip link)`);
    }
  }
  requireManualRule(settings);
  let prefix: Ipv6Prefix;
  let prefixFrom: string;
  let widen = false;
  if (settings.prefix !== null) {
    prefix = parseIpv6Prefix(settings.prefix);
    prefixFrom = "the configuration";
  } else {
    const detected = detectPrefix(host, wan, settings.lan);
    if (detected === null) {
      throw new HostNotReady(
        "prefix",
        `no IPv6 prefix on ${wan} yet (no delegated prefix, no RA /64): check the DHCPv6-PD client and the line, or give --prefix`,
      );
    }
    ({ prefix, widen } = detected);
    prefixFrom = detected.how;
  }
  const gateway = settings.gateway ?? detectGateway(host, wan);
  if (gateway === null) {
    throw new HostNotReady(
      "gateway",
      `no IPv6 default router on ${wan} (no Router Advertisement yet?): give --gateway fe80::…`,
    );
  }
  return { wan, prefix, widen, prefixFrom, gateway, flowtables: host.flowtables === true };
}

/** The settings that decide parameters without the network. */
export type ParameterSettings = Pick<Settings, "source" | "rule" | "overrides" | "interfaceId">;

function requireManualRule(settings: ParameterSettings): void {
  if (settings.source === "manual" && settings.rule === null) {
    throw new MapeError(
      "INVALID_RULE",
      "source is manual but no rule is given (--rule or [parameters.rule])",
    );
  }
}

/** The parameters from the shipped tables or the manual rule (no network involved). */
export function resolveFromSettings(
  settings: ParameterSettings,
  prefix: Ipv6Prefix,
  table: RuleTable,
  notMape: readonly NotMapePrefix[],
): ResolvedParameters {
  requireManualRule(settings);
  return resolveParameters({
    prefix,
    table,
    notMape,
    manualRule: settings.source === "manual" ? (settings.rule ?? undefined) : undefined,
    overrides: Object.keys(settings.overrides).length > 0 ? settings.overrides : undefined,
    interfaceId: settings.interfaceId ?? undefined,
  });
}

/**
 * A /64 seen on the WAN (an RA address, no delegation) lies inside the line's end-user prefix,
 * whose length only the rule tells (rule prefix + EA bits): the parameters are those of that
 * longer-reaching prefix. `widenedTo`: its length when it was widened, else null.
 */
export function widenToRule(
  resolved: ResolvedParameters,
  widen: boolean,
): { resolved: ResolvedParameters; widenedTo: number | null } {
  const params = resolved.params;
  const endUserLength = params.rule.ipv6Prefix.length + params.rule.eaBits;
  if (!widen || endUserLength >= params.endUserPrefix.length) return { resolved, widenedTo: null };
  const widened = { value: params.endUserPrefix.value & ipv6Mask(endUserLength), length: endUserLength };
  return {
    resolved: { ...resolved, params: computeParameters(widened, params.rule, params.interfaceId) },
    widenedTo: endUserLength,
  };
}

/**
 * The one answer to "which parameters should this host have" without asking the network: the
 * tables or the manual rule for the prefix the host has (or was given), widened to the rule's
 * end-user prefix when only a /64 was seen. up, render, doctor and init all ask it.
 */
export function expectedParameters(
  settings: ParameterSettings,
  seen: { readonly prefix: Ipv6Prefix; readonly widen: boolean },
  table: RuleTable,
  notMape: readonly NotMapePrefix[],
): { resolved: ResolvedParameters; widenedTo: number | null } {
  return widenToRule(resolveFromSettings(settings, seen.prefix, table, notMape), seen.widen);
}

function planInput(
  settings: Settings,
  resolved: ResolvedParameters,
  wan: string,
  gateway: string,
  fastPath: boolean,
): MapePlan {
  // Until up, watch, status and doctor apply DS-Lite, they must not build MAP-E for a DS-Lite setting.
  if (settings.method === "ds-lite") {
    throw new MapectlError(
      "usage",
      "method ds-lite is rendered (mapectl render --method ds-lite) but not yet applied by this command",
    );
  }
  // IPIP's plans come from desired-ipip.ts; a MAP-E plan for an IPIP setting is never right.
  if (settings.method === "ipip") {
    throw new MapectlError("usage", "method ipip has no MAP-E plan: this command builds MAP-E plans only");
  }
  return buildPlan({
    fastPath,
    resolved,
    wan,
    lan: settings.lan,
    gateway,
    tunnelName: settings.tunnelName,
    mtu: settings.mtu,
    defaultRouteMetric: settings.defaultRouteMetric,
    forwards: settings.forwards,
    tcpTimeWait: settings.tcpTimeWait,
    tunnelOwner: settings.tunnelOwner,
  });
}

/** verify + generate: the plan from the context and the parameters, whichever source gave them. */
export function planFromResolved(
  settings: Settings,
  context: PlanContext,
  resolved: ResolvedParameters,
): { plan: MapePlan; prefixFrom: string } {
  const widened = widenToRule(resolved, context.widen);
  const prefixFrom =
    widened.widenedTo === null
      ? context.prefixFrom
      : `${context.prefixFrom}, widened to the rule's /${widened.widenedTo}`;
  const plan = planInput(
    settings,
    widened.resolved,
    context.wan,
    context.gateway,
    context.flowtables === true,
  );
  return {
    plan,
    prefixFrom: `${formatIpv6Prefix(widened.resolved.params.endUserPrefix)} from ${prefixFrom}`,
  };
}

/** get config → verify → generate, with the parameters from the tables or the manual rule. */
export function desiredPlan(
  settings: Settings,
  host: HostState,
  table: RuleTable,
  notMape: readonly NotMapePrefix[],
): { plan: MapePlan; prefixFrom: string } {
  const context = planContext(settings, host);
  return planFromResolved(settings, context, resolveFromSettings(settings, context.prefix, table, notMape));
}

/**
 * Stands in for the BR's next hop when a plan is built away from the router: not an address, so
 * every consumer (ip, VyOS, networkd) rejects it instead of routing somewhere wrong.
 */
export const GATEWAY_PLACEHOLDER = "fe80::GATEWAY";

/**
 * The plan from the settings alone, for rendering away from the router: the prefix must be given,
 * and a missing gateway becomes GATEWAY_PLACEHOLDER (gatewayMissing says so).
 */
export function planWithoutHost(
  settings: Settings,
  table: RuleTable,
  notMape: readonly NotMapePrefix[],
): { plan: MapePlan; prefixFrom: string; gatewayMissing: boolean } {
  const wan = settings.wan;
  if (wan === null) throw new PlanError('no WAN interface: give --wan IF or wan = "IF" in the configuration');
  if (settings.prefix === null)
    throw new PlanError("no prefix: give --prefix P/L to build the plan away from the router");
  requireManualRule(settings);
  const resolved = resolveFromSettings(settings, parseIpv6Prefix(settings.prefix), table, notMape);
  return {
    // no fast path: these files are loaded at boot, maybe before the tunnel exists, and a flowtable
    // on a missing device would fail the whole table; `up` and the daemon add it on the router
    plan: planInput(settings, resolved, wan, settings.gateway ?? GATEWAY_PLACEHOLDER, false),
    prefixFrom: `${formatIpv6Prefix(resolved.params.endUserPrefix)} from the command line or configuration`,
    gatewayMissing: settings.gateway === null,
  };
}
