import type { DsLitePlan } from "./dslite-plan.ts";
import type { IpipPlan } from "./ipip-plan.ts";
import type { MapePlan } from "./plan.ts";

/**
 * The IPv4 methods of Japan's IPoE lines. A plan is one of them, told apart by `method`: MAP-E,
 * DS-Lite, and IPIP with a fixed address.
 */
export const METHODS = ["map-e", "ds-lite", "ipip"] as const;
export type Method = (typeof METHODS)[number];

/** What the user may ask for: one method, or auto (HB46PP's order, then DHCPv6, then the tables). */
export const METHOD_CHOICES = ["auto", ...METHODS] as const;
export type MethodChoice = (typeof METHOD_CHOICES)[number];

/** The methods this version builds plans for. */
export const SUPPORTED_METHODS: readonly Method[] = ["map-e", "ds-lite", "ipip"];

/** Every plan mapectl can make. */
export type Plan = MapePlan | DsLitePlan | IpipPlan;

/** A plan's method; state files from before `method` existed hold MAP-E plans. */
export function planMethod(plan: Plan): Method {
  return plan.method ?? "map-e";
}

export function isDsLitePlan(plan: Plan): plan is DsLitePlan {
  return plan.method === "ds-lite";
}

export function isIpipPlan(plan: Plan): plan is IpipPlan {
  return plan.method === "ipip";
}

export function isMapePlan(plan: Plan): plan is MapePlan {
  return plan.method === undefined || plan.method === "map-e";
}

/** Why a method cannot be used by this version, or null when it can. */
export function unsupportedMethod(method: MethodChoice): string | null {
  if (method === "auto" || SUPPORTED_METHODS.includes(method)) return null;
  return `method ${method} is not supported yet by this version of mapectl (use ${SUPPORTED_METHODS.join(", ")} or auto)`;
}
