import { formatIpv6Prefix, parseIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import type { Hb46ppIpip } from "../provision/hb46pp.ts";
import { ipipCeAddress, ipipFromHb46pp, ipipFromSettings, type IpipParameters } from "../provision/ipip.ts";
import { DEFAULT_UPDATE_INTERVAL } from "../provision/ipip-update.ts";
import { GATEWAY_PLACEHOLDER, type PlanContext } from "./desired.ts";
import { buildIpipPlan, IPIP_TUNNEL_NAME, type IpipPlan } from "./ipip-plan.ts";
import { PlanError } from "./plan.ts";
import { DEFAULT_SETTINGS, type Settings } from "./settings.ts";

/**
 * The line's IPIP parameters: HB46PP's `ipip` entry when the server sent one (it knows the
 * registered CE address), else the user's --ipv4, --br (or [ipip] br) and --interface-id.
 */
export function ipipParameters(settings: Settings, hb46pp: readonly Hb46ppIpip[] | null): IpipParameters {
  if (hb46pp !== null && hb46pp.length > 0) return ipipFromHb46pp(hb46pp);
  return ipipFromSettings({
    ipv4: settings.ipip.ipv4,
    br: settings.ipip.br ?? settings.overrides.br ?? null,
    interfaceId: settings.ipip.interfaceId,
  });
}

/** The update URL and its interval as the plan keeps them (never the account). */
export function ipipUpdate(settings: Settings): IpipPlan["update"] {
  const url = settings.ipip.updateUrl;
  if (url === null) return null;
  return { url, intervalSeconds: settings.ipip.updateInterval ?? DEFAULT_UPDATE_INTERVAL };
}

/** verify + generate: the plan from where the line is (WAN, prefix, gateway) and its parameters. */
export function ipipPlanFrom(
  settings: Settings,
  where: { readonly wan: string; readonly prefix: Ipv6Prefix; readonly gateway: string },
  params: IpipParameters,
): IpipPlan {
  return buildIpipPlan({
    wan: where.wan,
    lan: settings.lan,
    gateway: where.gateway,
    tunnelName: settings.tunnelName === DEFAULT_SETTINGS.tunnelName ? IPIP_TUNNEL_NAME : settings.tunnelName,
    mtu: settings.mtu,
    defaultRouteMetric: settings.defaultRouteMetric,
    forwards: settings.forwards,
    tunnelOwner: settings.tunnelOwner,
    ceAddress: ipipCeAddress(params, where.prefix),
    br: params.br,
    ipv4Address: params.ipv4Address,
    ipv4BlockLength: params.ipv4PrefixLength,
    from: params.from,
    update: ipipUpdate(settings),
  });
}

/** On the router: the context planContext read from the host. */
export function ipipPlanOnHost(settings: Settings, context: PlanContext, params: IpipParameters): IpipPlan {
  return ipipPlanFrom(settings, context, params);
}

/**
 * Away from the router: --prefix is needed (the CE address is made from it), and a missing gateway
 * becomes GATEWAY_PLACEHOLDER, which every consumer refuses until it is replaced.
 */
export function ipipPlanWithoutHost(
  settings: Settings,
  params: IpipParameters,
): { plan: IpipPlan; gatewayMissing: boolean; prefixFrom: string } {
  if (settings.wan === null)
    throw new PlanError('no WAN interface: give --wan IF or wan = "IF" in the configuration');
  if (settings.prefix === null)
    throw new PlanError("no prefix: give --prefix P/L to build the plan away from the router");
  const prefix = parseIpv6Prefix(settings.prefix);
  return {
    plan: ipipPlanFrom(
      settings,
      { wan: settings.wan, prefix, gateway: settings.gateway ?? GATEWAY_PLACEHOLDER },
      params,
    ),
    gatewayMissing: settings.gateway === null,
    prefixFrom: `${formatIpv6Prefix(prefix)} from the command line or configuration`,
  };
}
