import { ipv6Class, nonGlobalIpv4Block } from "../mape/address-class.ts";
import type { MapeParameters } from "../mape/compute.ts";
import { MapeError, type MapeErrorCode } from "../mape/errors.ts";
import { formatIpv4Prefix } from "../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, ipv6PrefixContains } from "../mape/ipv6.ts";
import type { MapRule } from "../mape/rule.ts";

/**
 * Who handed a rule to mapectl, as every refusal names it ("HB46PP", "rules file /etc/x.json:
 * rules[3]"), and the error code a refusal from there carries.
 */
export interface RuleSource {
  readonly label: string;
  readonly code: MapeErrorCode;
}

/** Fewer usable ports than this (port 0 never counts) cannot carry even one host's flows. */
export const MIN_USABLE_PORTS = 2;

function refuse(source: RuleSource, rule: MapRule, why: string): MapeError {
  const text = `${formatIpv6Prefix(rule.ipv6Prefix)} → ${formatIpv4Prefix(rule.ipv4Prefix)}`;
  return new MapeError(source.code, `${source.label}: rule ${text}: ${why}`);
}

/**
 * The checks every rule passes whoever handed it out (a network answer, a rules file, the shipped
 * table, the command line): the BR must be an address the CE can tunnel to across the provider's
 * network, the IPv4 prefix an Internet one, and the port set more than a token. A ULA BR is refused
 * too: the tunnel's source, the CE address, is global, and a provider's BR is reached across its
 * network in global space; a ULA in an answer is a misconfiguration or a redirection of the
 * line's IPv4 traffic, never something to follow silently.
 */
export function validateRuleFromSource(rule: MapRule, source: RuleSource): void {
  if (rule.br !== null) {
    const kind = ipv6Class(rule.br);
    if (kind !== "a global unicast address") {
      throw refuse(source, rule, `BR ${formatIpv6(rule.br)} is ${kind}, not a global unicast address`);
    }
  }
  const block = nonGlobalIpv4Block(rule.ipv4Prefix);
  if (block !== null) {
    throw refuse(source, rule, `the IPv4 prefix lies in ${block}, which no BR can route to the Internet`);
  }
  const blockBits = 16 - rule.psidOffset - rule.psidLength;
  if (rule.psidLength > 0 && blockBits === 0) {
    throw refuse(
      source,
      rule,
      `psid-offset ${rule.psidOffset} + psid-length ${rule.psidLength} = 16 leaves blocks of a single port`,
    );
  }
}

/** The checks that need the CE's own values: its address, its prefix and its ports. */
export function validateParametersFromSource(params: MapeParameters, source: RuleSource): void {
  const { rule } = params;
  if (rule.br !== null) {
    if (rule.br === params.ceAddress) {
      throw refuse(source, rule, `BR ${formatIpv6(rule.br)} is this CE's own address`);
    }
    if (ipv6PrefixContains(params.endUserPrefix, { value: rule.br, length: 128 })) {
      throw refuse(
        source,
        rule,
        `BR ${formatIpv6(rule.br)} lies inside this CE's own prefix ${formatIpv6Prefix(params.endUserPrefix)}`,
      );
    }
  }
  const usable = params.portSets.reduce((sum, [first, last]) => sum + last - Math.max(first, 1) + 1, 0);
  if (usable < MIN_USABLE_PORTS) {
    throw refuse(
      source,
      rule,
      `PSID ${params.psid} leaves ${usable} usable port${usable === 1 ? "" : "s"} (port 0 cannot be used)`,
    );
  }
}
