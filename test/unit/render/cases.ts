import { planWithoutHost } from "../../../src/plan/desired.ts";
import { b4SourceFromPrefix, dsLitePlanWithoutHost } from "../../../src/plan/desired-dslite.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { buildDsLitePlan, type DsLitePlan } from "../../../src/plan/dslite-plan.ts";
import { ipipParameters, ipipPlanWithoutHost } from "../../../src/plan/desired-ipip.ts";
import type { IpipPlan } from "../../../src/plan/ipip-plan.ts";
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

/**
 * A transix line as `render` builds it on the router: the WAN's address and the AFTR resolved
 * (to `aftrAddress`: another one is the AFTR renumbered).
 */
export function dsLiteCasePlan(aftrAddress = "2404:8e00::feed:100"): DsLitePlan {
  return buildDsLitePlan({
    wan: "eth1",
    lan: ["eth2"],
    gateway: USER_GATEWAY,
    tunnelName: "dslite",
    mtu: 1460,
    defaultRouteMetric: 10,
    forwards: [],
    local: "2404:8e00:12:3400:a611:bbff:fe7d:ee10",
    aftr: { name: "gw.transix.jp", address: aftrAddress, from: "tables", service: "transix" },
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

/**
 * A transix line that only delegates a prefix (no address for the WAN), as `render` builds it on the
 * router: the tunnel leaves from ::b4 in the prefix's last /64, which mapectl adds to the WAN.
 */
export function dsLitePdOnlyPlan(): DsLitePlan {
  const local = b4SourceFromPrefix(parseIpv6Prefix("2404:8e00:12:3400::/56"));
  return { ...dsLiteCasePlan(), tunnel: { ...dsLiteCasePlan().tunnel, local }, addsSource: true };
}

export const DS_LITE_CASES = {
  "ds-lite": dsLiteCasePlan,
  "ds-lite-away": dsLiteAwayPlan,
  "ds-lite-pd": dsLitePdOnlyPlan,
} as const;

/** A fixed-address IPIP line as the provider's sheet gives it: the address, the BR and the interface ID. */
export function ipipCasePlan(): IpipPlan {
  const settings = settingsFor("2001:db8:1200:3400::/56", {
    method: "ipip",
    forwards: [{ protocol: "tcp", port: 443, toAddress: "192.168.1.10", toPort: 8443 }],
    ipip: {
      ...DEFAULT_SETTINGS.ipip,
      ipv4: "203.0.113.9",
      br: "2001:db8:ffff::64",
      interfaceId: "1234:5678:9abc:def0",
      updateUrl: "https://update.example.net/ipip?user={user}&pass={password}&ip6={ipv6}",
    },
  });
  return ipipPlanWithoutHost(settings, ipipParameters(settings, null)).plan;
}

/** A routed /29 from HB46PP's ipip entry, rendered away from the router without the gateway. */
export function ipipBlockPlan(): IpipPlan {
  const settings = settingsFor("2001:db8:1200:3400::/56", {
    method: "ipip",
    gateway: null,
    tunnelName: "tun1",
  });
  const hb46pp = [
    {
      ipv6Local: "2001:db8:1200:3400:c6:3364:800:0",
      ipv6Remote: "2001:db8:ffff::64",
      ipv4: "198.51.100.8/29",
    },
  ];
  return ipipPlanWithoutHost(settings, ipipParameters(settings, hb46pp)).plan;
}

export const IPIP_CASES = { ipip: ipipCasePlan, "ipip-block": ipipBlockPlan } as const;
