import { computeParameters, type MapeParameters } from "../../src/mape/compute.ts";
import type { InterfaceIdLayout } from "../../src/mape/interface-id.ts";
import { parseIpv6Prefix } from "../../src/mape/ipv6.ts";
import { makeRule, type MapRule, type MapRuleSpec } from "../../src/mape/rule.ts";

/** A MAP rule as RFC 7597 and the rule tables write it: IPv6 prefix, IPv4 prefix, EA bits, PSID offset. */
export function mapRule(
  ipv6Prefix: string,
  ipv4Prefix: string,
  eaBits: number,
  psidOffset: number,
  extra: Partial<MapRuleSpec> = {},
): MapRule {
  return makeRule({ ipv6Prefix, ipv4Prefix, eaBits, psidOffset, ...extra });
}

/** The MAP-E parameters of one end-user prefix (written as text) under `r`. */
export function parametersOf(r: MapRule, endUserPrefix: string, layout: InterfaceIdLayout): MapeParameters {
  return computeParameters(parseIpv6Prefix(endUserPrefix), r, layout);
}
