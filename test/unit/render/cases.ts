import { planWithoutHost } from "../../../src/plan/desired.ts";
import type { MapePlan, PortForward } from "../../../src/plan/plan.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../../src/plan/settings.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { OCN_PREFIX, USER_PREFIX } from "../../helpers/plans.ts";

/** The user's router: BIGLOBE /56 on eth1, LAN eth2, and the NGN gateway seen on the WAN. */
export const USER_GATEWAY = "fe80::a611:bbff:fe7d:ee11";

export const CASES = {
  user: USER_PREFIX,
  ocn: OCN_PREFIX,
} as const;

export function settingsFor(prefix: string, overrides: Partial<Settings> = {}): Settings {
  return {
    ...DEFAULT_SETTINGS,
    prefix,
    wan: "eth1",
    lan: ["eth2"],
    gateway: USER_GATEWAY,
    overrides: {},
    forwards: [] as PortForward[],
    ...overrides,
  };
}

export function casePlan(prefix: string, overrides: Partial<Settings> = {}): MapePlan {
  return planWithoutHost(settingsFor(prefix, overrides), shippedRuleTable(), shippedNotMape()).plan;
}
