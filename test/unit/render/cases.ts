import { planWithoutHost } from "../../../src/plan/desired.ts";
import { dsLitePlanWithoutHost } from "../../../src/plan/desired-dslite.ts";
import { buildDsLitePlan, type DsLitePlan } from "../../../src/plan/dslite-plan.ts";
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

/** A transix line as `render` builds it on the router: the WAN's address and the AFTR resolved. */
export function dsLiteCasePlan(): DsLitePlan {
  return buildDsLitePlan({
    wan: "eth1",
    lan: ["eth2"],
    gateway: USER_GATEWAY,
    tunnelName: "dslite",
    mtu: 1460,
    defaultRouteMetric: 10,
    forwards: [],
    local: "2404:8e00:12:3400:a611:bbff:fe7d:ee10",
    aftr: { name: "gw.transix.jp", address: "2404:8e00::feed:100", from: "tables", service: "transix" },
  });
}

/** A v6コネクト line rendered away from the router with --aftr: the WAN's address is a placeholder. */
export function dsLiteAwayPlan(): DsLitePlan {
  return dsLitePlanWithoutHost(
    settingsFor("2405:6581:1:2300::/56", { method: "ds-lite", tunnelName: "tun0" }),
    {
      name: null,
      address: "2405:6580:ffff::1",
      from: "configuration",
      service: null,
    },
  );
}

export const DS_LITE_CASES = { "ds-lite": dsLiteCasePlan, "ds-lite-away": dsLiteAwayPlan } as const;
