import { ipipParameters } from "../plan/desired-ipip.ts";
import type { Settings } from "../plan/settings.ts";
import type { Hb46ppIpip } from "../provision/hb46pp.ts";
import { IpipError, type IpipParameters } from "../provision/ipip.ts";
import type { LineMethod } from "../provision/line-method.ts";
import type { ParameterSource } from "../provision/parameters.ts";
import type { ProvisionResult } from "../provision/provision.ts";

/**
 * Which lines are IPIP: --method ipip, or auto with a fixed address in the configuration; HB46PP's
 * order naming ipip (auto or ipip) when the network is asked.
 */
function wantsIpip(settings: Settings): boolean {
  return settings.method === "ipip" || (settings.method === "auto" && settings.ipip.ipv4 !== null);
}

/**
 * The sheet's parameters when the network has nothing to add: IPIP asked for and HB46PP not among
 * the sources (it alone sends IPIP parameters). null: not IPIP, or HB46PP is to be asked first.
 */
export function ipipWithoutNetwork(
  settings: Settings,
  order: readonly ParameterSource[],
): IpipParameters | null {
  if (!wantsIpip(settings) || order.includes("hb46pp")) return null;
  return ipipParameters(settings, null);
}

function hb46ppEntries(value: unknown): Hb46ppIpip[] | null {
  return Array.isArray(value) ? (value as Hb46ppIpip[]) : null;
}

/**
 * After the network was asked: HB46PP's ipip entry when its order names IPIP first (`line`, ipip or
 * auto), else, for --method ipip, the sheet's parameters (an error naming what is missing). null:
 * not IPIP.
 */
export function ipipFromSources(
  settings: Settings,
  result: ProvisionResult,
  line: LineMethod,
): { params: IpipParameters; ttlSeconds: number | null } | null {
  if (settings.method !== "ipip" && settings.method !== "auto") return null;
  const hb = result.sources.find((s) => s.source === "hb46pp");
  if (line.method === "ipip" && hb !== undefined) {
    return { params: ipipParameters(settings, hb46ppEntries(hb.details.ipip)), ttlSeconds: hb.ttl };
  }
  if (settings.method !== "ipip") return null;
  try {
    return { params: ipipParameters(settings, null), ttlSeconds: null };
  } catch (err) {
    // say what HB46PP said instead, when it was asked and failed
    if (!(err instanceof IpipError) || hb === undefined || hb.ok || line.method === "ipip") throw err;
    throw new IpipError(`${err.message} (hb46pp: ${hb.error ?? hb.status})`);
  }
}
