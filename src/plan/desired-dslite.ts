import { isMapeError } from "../mape/errors.ts";
import { formatIpv6, type Ipv6Prefix } from "../mape/ipv6.ts";
import { aftrFromTables, aftrWithoutNetwork, type AftrParameters } from "../provision/dslite.ts";
import type { AftrNameTable } from "../rules/aftr-names.ts";
import type { NotMapePrefix, RuleTable } from "../rules/table.ts";
import { sameIpv6 } from "./host-match.ts";
import { GATEWAY_PLACEHOLDER, isGlobal, resolveFromSettings, type PlanContext } from "./desired.ts";
import {
  buildDsLitePlan,
  DS_LITE_TUNNEL_NAME,
  WAN_ADDRESS_PLACEHOLDER,
  type DsLitePlan,
} from "./dslite-plan.ts";
import type { HostState } from "./observed.ts";
import { PlanError } from "./plan.ts";
import { DEFAULT_SETTINGS, type Settings } from "./settings.ts";

/** The method the settings and the shipped tables give, with DS-Lite's AFTR (maybe still a name). */
export type MethodDecision =
  { readonly method: "map-e" } | { readonly method: "ds-lite"; readonly aftr: AftrParameters };

/** What decides the method without the network: the tables and the AFTR names. */
export interface MethodTables {
  readonly table: RuleTable;
  readonly notMape: readonly NotMapePrefix[];
  readonly aftrNames: AftrNameTable;
}

/**
 * The method without asking the network. auto: an AFTR the user gave means DS-Lite; else MAP-E when
 * a rule matches the prefix, DS-Lite when the prefix is a known DS-Lite service's, else the MAP-E
 * error that says why neither fits.
 */
export function methodWithoutNetwork(
  settings: Settings,
  prefix: Ipv6Prefix | null,
  tables: MethodTables,
): MethodDecision {
  const dsLite = (): MethodDecision => ({
    method: "ds-lite",
    aftr: aftrWithoutNetwork(settings.aftr, prefix, tables.notMape, tables.aftrNames),
  });
  if (settings.method === "ds-lite") return dsLite();
  if (settings.method !== "auto" || prefix === null) return { method: "map-e" };
  if (settings.aftr !== null) return dsLite();
  try {
    resolveFromSettings(settings, prefix, tables.table, tables.notMape);
    return { method: "map-e" };
  } catch (err) {
    const aftr = isMapeError(err) ? aftrFromTables(prefix, tables.notMape, tables.aftrNames) : null;
    if (aftr === null) throw err;
    return { method: "ds-lite", aftr };
  }
}

/**
 * The WAN's own stable global IPv6 address: the B4's tunnel source (RFC 6333 §5.3). `exclude`: the
 * /128s mapectl puts there itself (MAP-E's CE address, the B4 source below), never the WAN's own.
 */
export function detectWanAddress(
  host: HostState,
  wan: string,
  exclude: readonly string[] = [],
): string | null {
  const usable = host.addresses.filter(
    (a) =>
      a.family === 6 &&
      a.dev === wan &&
      isGlobal(a.address) &&
      !a.temporary &&
      !a.deprecated &&
      !a.tentative &&
      !a.dadFailed &&
      !exclude.some((x) => sameIpv6(x, a.address)),
  );
  return usable[0]?.address ?? null;
}

/** The interface ID of the B4 source mapectl adds on a line that gives the WAN no address. */
const B4_SOURCE_IID = 0xb4n;

/**
 * On a line that only delegates a prefix (DHCPv6-PD, no address for the WAN: FLET'S with a PD),
 * the B4's source is an address of the delegated prefix that mapectl puts on the WAN as a /128:
 * the tunnel needs its source on its own link device. It is the prefix's last /64 (the one a LAN
 * is least likely to use), interface ID ::b4.
 */
export function b4SourceFromPrefix(prefix: Ipv6Prefix): string {
  const subnets = prefix.length >= 64 ? 0n : (1n << BigInt(64 - prefix.length)) - 1n;
  return formatIpv6(prefix.value | (subnets << 64n) | B4_SOURCE_IID);
}

type ResolvedAftr = AftrParameters & { readonly address: string };

function fromSettings(
  settings: Settings,
  where: { wan: string; gateway: string; local: string },
  aftr: ResolvedAftr,
): DsLitePlan {
  return buildDsLitePlan({
    ...where,
    lan: settings.lan,
    tunnelName:
      settings.tunnelName === DEFAULT_SETTINGS.tunnelName ? DS_LITE_TUNNEL_NAME : settings.tunnelName,
    mtu: settings.mtu,
    defaultRouteMetric: settings.defaultRouteMetric,
    forwards: settings.forwards,
    tunnelOwner: settings.tunnelOwner,
    aftr,
  });
}

/** verify + generate on the router: the tunnel leaves from the WAN's own address. */
export function dsLitePlanOnHost(
  settings: Settings,
  context: PlanContext,
  host: HostState,
  aftr: ResolvedAftr,
  exclude: readonly string[] = [],
): DsLitePlan {
  const added = b4SourceFromPrefix(context.prefix);
  const own = detectWanAddress(host, context.wan, [...exclude, added]);
  const where = { wan: context.wan, gateway: context.gateway, local: own ?? added };
  return { ...fromSettings(settings, where, aftr), addsSource: own === null };
}

/**
 * The plan away from the router: the WAN's address becomes WAN_ADDRESS_PLACEHOLDER and a missing
 * gateway GATEWAY_PLACEHOLDER, which every consumer refuses until they are replaced.
 */
export function dsLitePlanWithoutHost(settings: Settings, aftr: ResolvedAftr): DsLitePlan {
  if (settings.wan === null)
    throw new PlanError('no WAN interface: give --wan IF or wan = "IF" in the configuration');
  return fromSettings(
    settings,
    {
      wan: settings.wan,
      gateway: settings.gateway ?? GATEWAY_PLACEHOLDER,
      local: WAN_ADDRESS_PLACEHOLDER,
    },
    aftr,
  );
}
