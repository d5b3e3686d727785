import { MapeError } from "../mape/errors.ts";
import { formatIpv6Prefix, ipv6PrefixContains, parseIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { INTERFACE_ID_LAYOUTS, type InterfaceIdLayout } from "../mape/interface-id.ts";
import { makeRule, type MapRule, type MapRuleSpec } from "../mape/rule.ts";

export interface ServiceInfo {
  readonly id: string;
  readonly name: string;
  readonly ceInterfaceId: InterfaceIdLayout;
}

export interface TableRule {
  readonly service: ServiceInfo | null;
  /** The rule prefix, known without validating the whole rule (selection needs only this). */
  readonly ipv6Prefix: Ipv6Prefix;
  readonly rule: MapRule;
  /** Where the rule came from: "shipped" or the user's file name. */
  readonly origin: string;
}

export interface RuleTable {
  readonly services: ReadonlyMap<string, ServiceInfo>;
  readonly rules: readonly TableRule[];
}

function fail(origin: string, where: string, why: string): MapeError {
  return new MapeError("INVALID_RULE_TABLE", `${origin}: ${where}: ${why}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalNumber(
  origin: string,
  where: string,
  entry: Record<string, unknown>,
  key: string,
): number | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw fail(origin, where, `"${key}" must be a number`);
  return value;
}

function requiredString(origin: string, where: string, entry: Record<string, unknown>, key: string): string {
  const value = entry[key];
  if (typeof value !== "string") throw fail(origin, where, `"${key}" must be a string`);
  return value;
}

/**
 * Validates a table document (already parsed from JSON) rule by rule, so a broken user file is
 * reported with the index of the bad rule and what is wrong with it.
 */
export function parseRuleTable(
  doc: unknown,
  origin: string,
  knownServices?: ReadonlyMap<string, ServiceInfo>,
  options: { readonly lazy?: boolean } = {},
): RuleTable {
  if (!isRecord(doc)) throw fail(origin, "top level", 'expected an object with "rules"');
  const services = new Map<string, ServiceInfo>(knownServices ?? []);
  const rawServices = doc.services ?? {};
  if (!isRecord(rawServices)) throw fail(origin, "services", "expected an object");
  for (const [id, raw] of Object.entries(rawServices)) {
    if (!isRecord(raw)) throw fail(origin, `services.${id}`, "expected an object");
    const name = typeof raw.name === "string" ? raw.name : id;
    const layout = raw.ceInterfaceId ?? "draft-03";
    if (!INTERFACE_ID_LAYOUTS.includes(layout as InterfaceIdLayout)) {
      throw fail(origin, `services.${id}.ceInterfaceId`, `must be one of ${INTERFACE_ID_LAYOUTS.join(", ")}`);
    }
    services.set(id, { id, name, ceInterfaceId: layout as InterfaceIdLayout });
  }
  if (!Array.isArray(doc.rules)) throw fail(origin, "rules", "expected an array");
  const rules = doc.rules.map((raw: unknown, index): TableRule => {
    const where = `rules[${index}]`;
    if (!isRecord(raw)) throw fail(origin, where, "expected an object");
    const spec: MapRuleSpec = {
      ipv6Prefix: requiredString(origin, where, raw, "ipv6Prefix"),
      ipv4Prefix: requiredString(origin, where, raw, "ipv4Prefix"),
      eaBits: optionalNumber(origin, where, raw, "eaBits") ?? Number.NaN,
      psidOffset: optionalNumber(origin, where, raw, "psidOffset") ?? Number.NaN,
      psidLength: optionalNumber(origin, where, raw, "psidLength"),
      br: typeof raw.br === "string" ? raw.br : undefined,
    };
    if (Number.isNaN(spec.eaBits)) throw fail(origin, where, '"eaBits" is missing');
    if (Number.isNaN(spec.psidOffset)) throw fail(origin, where, '"psidOffset" is missing');
    let service: ServiceInfo | null = null;
    if (raw.service !== undefined) {
      if (typeof raw.service !== "string") throw fail(origin, where, '"service" must be a string');
      service = services.get(raw.service) ?? null;
      if (service === null)
        throw fail(origin, where, `service "${raw.service}" is not defined under "services"`);
    }
    const validate = (): MapRule => {
      try {
        return makeRule(spec);
      } catch (err) {
        throw fail(origin, where, (err as Error).message);
      }
    };
    let ipv6Prefix: Ipv6Prefix;
    try {
      ipv6Prefix = parseIpv6Prefix(spec.ipv6Prefix);
    } catch (err) {
      throw fail(origin, where, (err as Error).message);
    }
    if (options.lazy !== true) return { service, ipv6Prefix, rule: validate(), origin };
    // The shipped table (validated by its tests) is checked rule by rule only when a rule is used:
    // parsing all 444 up front was most of `mapectl calc`'s start-up.
    let rule: MapRule | undefined;
    return {
      service,
      ipv6Prefix,
      origin,
      get rule(): MapRule {
        rule ??= validate();
        return rule;
      },
    };
  });
  return { services, rules };
}

/** User rules come first so that, for equally long matches, they win over the shipped ones. */
export function mergeTables(first: RuleTable, second: RuleTable): RuleTable {
  return {
    services: new Map([...second.services, ...first.services]),
    rules: [...first.rules, ...second.rules],
  };
}

/** Longest match of an end-user prefix against the table's rule prefixes (RFC 7597 §5.3). */
export function selectRule(table: RuleTable, prefix: Ipv6Prefix): TableRule | null {
  let best: TableRule | null = null;
  for (const entry of table.rules) {
    const rulePrefix = entry.ipv6Prefix;
    if (rulePrefix.length > prefix.length) continue;
    if (!ipv6PrefixContains(rulePrefix, prefix)) continue;
    if (best === null || rulePrefix.length > best.ipv6Prefix.length) best = entry;
  }
  return best;
}

/** Rules that lie inside a prefix, used to tell a user their prefix is too short to choose one. */
export function rulesInside(table: RuleTable, prefix: Ipv6Prefix): TableRule[] {
  return table.rules.filter((entry) => ipv6PrefixContains(prefix, entry.ipv6Prefix));
}

export interface NotMapePrefix {
  readonly prefix: Ipv6Prefix;
  readonly kind: "ds-lite" | "ntt-native";
  readonly service: string;
  readonly aftr: string | null;
}

export function parseNotMapeTable(doc: unknown): NotMapePrefix[] {
  if (!isRecord(doc) || !Array.isArray(doc.prefixes))
    throw fail("not-mape.json", "top level", "expected prefixes");
  return doc.prefixes.map((raw: unknown, index) => {
    const where = `prefixes[${index}]`;
    if (!isRecord(raw)) throw fail("not-mape.json", where, "expected an object");
    const kind = raw.kind;
    if (kind !== "ds-lite" && kind !== "ntt-native") throw fail("not-mape.json", where, "bad kind");
    return {
      prefix: parseIpv6Prefix(requiredString("not-mape.json", where, raw, "prefix")),
      kind,
      service: requiredString("not-mape.json", where, raw, "service"),
      aftr: typeof raw.aftr === "string" ? raw.aftr : null,
    };
  });
}

/** A sentence for a prefix that belongs to a non-MAP-E service, or null. */
export function explainNotMape(list: readonly NotMapePrefix[], prefix: Ipv6Prefix): string | null {
  const hit = list.find((entry) =>
    ipv6PrefixContains(entry.prefix, { ...prefix, length: Math.max(prefix.length, entry.prefix.length) }),
  );
  if (hit === undefined) return null;
  const text = formatIpv6Prefix(prefix);
  if (hit.kind === "ntt-native") {
    return `${text} is NTT's own prefix (${formatIpv6Prefix(hit.prefix)}): the IPv4 (MAP-E) service of your provider is not active on this line yet; wait for the VNE to switch it on, then run calc on the new prefix`;
  }
  return `${text} is a ${hit.service} prefix: this line uses DS-Lite (AFTR ${hit.aftr ?? "unknown"}), not MAP-E`;
}
