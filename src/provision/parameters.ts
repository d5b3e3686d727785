import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { computeParameters, type MapeParameters } from "../mape/compute.ts";
import { isMapeError, MapeError } from "../mape/errors.ts";
import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { makeRule, ruleSpec, type MapRule, type MapRuleSpec } from "../mape/rule.ts";
import {
  validateParametersFromSource,
  validateRuleFromSource,
  type RuleSource,
} from "../rules/source-checks.ts";
import {
  explainNotMape,
  rulesInside,
  selectRule,
  SHIPPED_ORIGIN,
  type NotMapePrefix,
  type RuleTable,
  type ServiceInfo,
} from "../rules/table.ts";

/** Where a set of parameters came from; every result records it. */
export type ParameterSource = "hb46pp" | "dhcpv6" | "tables" | "manual";

export interface ResolvedParameters {
  readonly params: MapeParameters;
  readonly service: ServiceInfo | null;
  readonly source: ParameterSource;
  /** Rule fields replaced on the command line or in the config, e.g. ["br"]. */
  readonly overridden: readonly string[];
  /** The user's rules file the rule came from (source "tables"); absent for the shipped table. */
  readonly rulesFile?: string | undefined;
}

/** Rules handed out by the network (HB46PP or DHCPv6 S46) rather than found in a table. */
export interface ProvisionedRules {
  readonly source: "hb46pp" | "dhcpv6";
  readonly rules: readonly MapRule[];
  /** The interface-ID layout the network asks for (HB46PP map_e.version); null when it says nothing. */
  readonly interfaceId: InterfaceIdLayout | null;
}

export interface ResolveOptions {
  readonly prefix: Ipv6Prefix;
  readonly table: RuleTable;
  readonly notMape: readonly NotMapePrefix[];
  readonly manualRule?: MapRuleSpec | undefined;
  /** Used instead of the table when given (a manual rule still wins); the table then only names the service. */
  readonly provisioned?: ProvisionedRules | undefined;
  readonly overrides?: Partial<MapRuleSpec> | undefined;
  readonly interfaceId?: InterfaceIdLayout | undefined;
}

const DEFAULT_LAYOUT: InterfaceIdLayout = "draft-03";

function noRule(options: ResolveOptions): MapeError {
  const text = formatIpv6Prefix(options.prefix);
  const notMape = explainNotMape(options.notMape, options.prefix);
  if (notMape !== null) return new MapeError("NOT_MAPE_LINE", notMape);
  const inside = rulesInside(options.table, options.prefix);
  if (inside.length > 0) {
    return new MapeError(
      "PREFIX_TOO_SHORT",
      `${text} holds ${inside.length} MAP-E rules; give the prefix delegated to your line (usually a /56), not a shorter one`,
    );
  }
  return new MapeError(
    "NO_MATCHING_RULE",
    `no MAP-E rule covers ${text}: it is not in the tables of v6プラス, BIGLOBE, OCN or NURO; give the rule with --rule ipv6-prefix=…,ipv4-prefix=…,ea-bits=…,psid-offset=…,br=… or add a rules file`,
  );
}

const SOURCE_NAMES = { hb46pp: "HB46PP", dhcpv6: "DHCPv6 S46" } as const;

function noProvisionedRule(options: ResolveOptions, provisioned: ProvisionedRules): MapeError {
  const count = provisioned.rules.length;
  return new MapeError(
    "NO_MATCHING_RULE",
    `none of the ${count} rule${count === 1 ? "" : "s"} from ${SOURCE_NAMES[provisioned.source]} covers ${formatIpv6Prefix(options.prefix)}`,
  );
}

/**
 * Picks the rule (manual, else the longest match among provisioned rules, else among the table's),
 * applies overrides and computes the parameters.
 */
export function resolveParameters(options: ResolveOptions): ResolvedParameters {
  let spec: MapRuleSpec;
  let service: ServiceInfo | null = null;
  let source: ParameterSource;
  let networkLayout: InterfaceIdLayout | null = null;
  let from: RuleSource;
  let rulesFile: string | undefined;
  if (options.manualRule !== undefined) {
    spec = options.manualRule;
    source = "manual";
    from = { label: "the manual rule (--rule or [parameters.rule])", code: "INVALID_RULE" };
  } else if (options.provisioned !== undefined) {
    const provisioned = options.provisioned;
    const own: RuleTable = {
      services: new Map(),
      rules: provisioned.rules.map((rule) => ({
        service: null,
        ipv6Prefix: rule.ipv6Prefix,
        rule,
        origin: provisioned.source,
      })),
    };
    const match = selectRule(own, options.prefix);
    if (match === null) throw noProvisionedRule(options, provisioned);
    spec = ruleSpec(match.rule);
    service = selectRule(options.table, options.prefix)?.service ?? null;
    networkLayout = provisioned.interfaceId;
    source = provisioned.source;
    // Refused like user input, with the code of "no usable parameters", so the next source is asked.
    from = { label: SOURCE_NAMES[provisioned.source], code: "NO_MATCHING_RULE" };
  } else {
    const match = selectRule(options.table, options.prefix);
    if (match === null) throw noRule(options);
    spec = ruleSpec(match.rule);
    service = match.service;
    source = "tables";
    if (match.origin !== SHIPPED_ORIGIN) rulesFile = match.origin;
    from = {
      label: rulesFile === undefined ? "the shipped rule table" : `rules file ${rulesFile}`,
      code: "INVALID_RULE_TABLE",
    };
  }
  const overrides = options.overrides ?? {};
  const overridden = Object.keys(overrides).filter((k) => overrides[k as keyof MapRuleSpec] !== undefined);
  if (overridden.includes("eaBits") || overridden.includes("ipv4Prefix")) {
    // A derived PSID length would silently follow the old EA bits otherwise.
    spec = { ...spec, psidLength: undefined };
  }
  if (overridden.length > 0) {
    // What is refused may be the overriding value itself, which came from the command line or config.
    from = { label: `${from.label} with ${overridden.join(", ")} overridden`, code: "INVALID_RULE" };
  }
  let rule: MapRule;
  try {
    rule = makeRule({ ...spec, ...overrides });
  } catch (err) {
    if (!isMapeError(err)) throw err;
    throw new MapeError(source === "manual" ? err.code : from.code, `${from.label}: ${err.message}`);
  }
  validateRuleFromSource(rule, from);
  const layout = options.interfaceId ?? networkLayout ?? service?.ceInterfaceId ?? DEFAULT_LAYOUT;
  const params = computeParameters(options.prefix, rule, layout);
  validateParametersFromSource(params, from);
  return { params, service, source, overridden, ...(rulesFile === undefined ? {} : { rulesFile }) };
}

/** The `calc --json` object; also what other commands, the state file and the web API embed as "the parameters". */
export interface ParametersJson {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly prefix: string;
  readonly service: string | null;
  readonly serviceName: string | null;
  readonly rule: {
    readonly ipv6Prefix: string;
    readonly ipv4Prefix: string;
    readonly eaBits: number;
    readonly psidOffset: number;
    readonly psidLength: number;
  };
  readonly ipv4Address: string;
  readonly ipv4PrefixLength: number;
  readonly psid: number;
  readonly ceAddress: string;
  readonly ceInterfaceId: string;
  readonly br: string | null;
  readonly portSets: readonly (readonly [number, number])[];
  readonly portCount: number;
  readonly source: string;
  readonly overridden: readonly string[];
  readonly warnings: readonly string[];
}

/** `mapectl calc --json` and the web calculator's object: the parameters of a MAP-E line. */
export interface CalcJson extends ParametersJson {
  readonly method: "map-e";
}

export function calcJson(resolved: ResolvedParameters): CalcJson {
  return { ...parametersJson(resolved), method: "map-e" };
}

export function parametersJson(resolved: ResolvedParameters): ParametersJson {
  const { params, service } = resolved;
  const rule = ruleSpec(params.rule);
  return {
    schemaVersion: SCHEMA_VERSION,
    prefix: formatIpv6Prefix(params.endUserPrefix),
    service: service?.id ?? null,
    serviceName: service?.name ?? null,
    rule: {
      ipv6Prefix: rule.ipv6Prefix,
      ipv4Prefix: rule.ipv4Prefix,
      eaBits: rule.eaBits,
      psidOffset: rule.psidOffset,
      psidLength: params.rule.psidLength,
    },
    ipv4Address: formatIpv4(params.ipv4Address),
    ipv4PrefixLength: params.ipv4PrefixLength,
    psid: params.psid,
    ceAddress: formatIpv6(params.ceAddress),
    ceInterfaceId: params.interfaceId,
    br: params.rule.br === null ? null : formatIpv6(params.rule.br),
    portSets: params.portSets.map(([first, last]) => [first, last] as const),
    portCount: params.portCount,
    source: resolved.source,
    overridden: resolved.overridden,
    warnings: params.warnings,
  };
}
