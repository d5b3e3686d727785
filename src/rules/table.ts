import { MapeError } from "../mape/errors.ts";
import { oneLine } from "../text/one-line.ts";
import { formatIpv6Prefix, ipv6PrefixContains, parseIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { INTERFACE_ID_LAYOUTS, type InterfaceIdLayout } from "../mape/interface-id.ts";
import { makeRule, type MapRule, type MapRuleSpec } from "../mape/rule.ts";
import { formatIpv4Prefix, ipv4Mask } from "../mape/ipv4.ts";
import { validateRuleFromSource } from "./source-checks.ts";

/** The origin of the rules mapectl ships; every other origin is the name of a user's rules file. */
export const SHIPPED_ORIGIN = "shipped rules";

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
  /** Where the rule came from: SHIPPED_ORIGIN or the user's file name. */
  readonly origin: string;
  /** Where in its file: "rules[3]"; absent for rules from the network. */
  readonly where?: string;
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

function optionalString(
  origin: string,
  where: string,
  entry: Record<string, unknown>,
  key: string,
): string | undefined {
  return entry[key] === undefined ? undefined : requiredString(origin, where, entry, key);
}

const TOP_KEYS = ["description", "services", "rules"];
const SERVICE_KEYS = ["name", "operator", "ceInterfaceId", "sources", "note"];
const RULE_KEYS = ["service", "ipv6Prefix", "ipv4Prefix", "eaBits", "psidOffset", "psidLength", "br"];

/** A misspelt key ("psidlength") would otherwise be dropped without a word and change the rule. */
function onlyKnownKeys(origin: string, where: string, entry: Record<string, unknown>, known: string[]): void {
  const unknown = Object.keys(entry).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw fail(origin, where, `unknown key "${oneLine(unknown)}" (known: ${known.join(", ")})`);
  }
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
  onlyKnownKeys(origin, "top level", doc, TOP_KEYS);
  const services = new Map<string, ServiceInfo>(knownServices ?? []);
  const rawServices = doc.services ?? {};
  if (!isRecord(rawServices)) throw fail(origin, "services", "expected an object");
  for (const [id, raw] of Object.entries(rawServices)) {
    if (!isRecord(raw)) throw fail(origin, `services.${oneLine(id)}`, "expected an object");
    onlyKnownKeys(origin, `services.${oneLine(id)}`, raw, SERVICE_KEYS);
    const name = optionalString(origin, `services.${oneLine(id)}`, raw, "name") ?? id;
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
    onlyKnownKeys(origin, where, raw, RULE_KEYS);
    const spec: MapRuleSpec = {
      ipv6Prefix: requiredString(origin, where, raw, "ipv6Prefix"),
      ipv4Prefix: requiredString(origin, where, raw, "ipv4Prefix"),
      eaBits: optionalNumber(origin, where, raw, "eaBits") ?? Number.NaN,
      psidOffset: optionalNumber(origin, where, raw, "psidOffset") ?? Number.NaN,
      psidLength: optionalNumber(origin, where, raw, "psidLength"),
      br: optionalString(origin, where, raw, "br"),
    };
    if (Number.isNaN(spec.eaBits)) throw fail(origin, where, '"eaBits" is missing');
    if (Number.isNaN(spec.psidOffset)) throw fail(origin, where, '"psidOffset" is missing');
    let service: ServiceInfo | null = null;
    if (raw.service !== undefined) {
      if (typeof raw.service !== "string") throw fail(origin, where, '"service" must be a string');
      service = services.get(raw.service) ?? null;
      if (service === null)
        throw fail(origin, where, `service "${oneLine(raw.service)}" is not defined under "services"`);
    }
    const validate = (): MapRule => {
      let rule: MapRule;
      try {
        rule = makeRule(spec);
      } catch (err) {
        throw fail(origin, where, (err as Error).message);
      }
      validateRuleFromSource(rule, { label: `${origin}: ${where}`, code: "INVALID_RULE_TABLE" });
      return rule;
    };
    let ipv6Prefix: Ipv6Prefix;
    try {
      ipv6Prefix = parseIpv6Prefix(spec.ipv6Prefix);
    } catch (err) {
      throw fail(origin, where, (err as Error).message);
    }
    if (options.lazy !== true) return { service, ipv6Prefix, rule: validate(), origin, where };
    // The shipped table (validated by its tests) is checked rule by rule only when a rule is used:
    // parsing all 444 up front was most of `mapectl calc`'s start-up.
    let rule: MapRule | undefined;
    return {
      service,
      ipv6Prefix,
      origin,
      where,
      get rule(): MapRule {
        rule ??= validate();
        return rule;
      },
    };
  });
  if (options.lazy !== true) refuseOverlaps(rules, []);
  return { services, rules };
}

function overlaps(a: TableRule, b: TableRule): string | null {
  const [x, y] = a.ipv6Prefix.length <= b.ipv6Prefix.length ? [a, b] : [b, a];
  if (ipv6PrefixContains(x.ipv6Prefix, y.ipv6Prefix)) {
    return `its IPv6 prefix overlaps ${formatIpv6Prefix(b.ipv6Prefix)}`;
  }
  const [p, q] = a.rule.ipv4Prefix.length <= b.rule.ipv4Prefix.length ? [a.rule, b.rule] : [b.rule, a.rule];
  const mask = ipv4Mask(p.ipv4Prefix.length);
  if ((q.ipv4Prefix.value & mask) >>> 0 === p.ipv4Prefix.value) {
    return `its IPv4 prefix overlaps ${formatIpv4Prefix(b.rule.ipv4Prefix)}, so two CEs could get the same address and ports`;
  }
  return null;
}

/**
 * Two of the user's rules that cover the same IPv6 or IPv4 space make the choice between them a
 * matter of file order: refused, naming both. A user rule may still cover a shipped one (it wins).
 */
function refuseOverlaps(fresh: readonly TableRule[], earlier: readonly TableRule[]): void {
  fresh.forEach((rule, index) => {
    for (const other of [...fresh.slice(0, index), ...earlier]) {
      const why = overlaps(rule, other);
      if (why !== null) {
        throw fail(rule.origin, rule.where ?? "rules", `${why} (${other.origin}: ${other.where ?? "rules"})`);
      }
    }
  });
}

/** User rules come first so that, for equally long matches, they win over the shipped ones. */
export function mergeTables(first: RuleTable, second: RuleTable): RuleTable {
  refuseOverlaps(
    first.rules.filter((r) => r.origin !== SHIPPED_ORIGIN),
    second.rules.filter((r) => r.origin !== SHIPPED_ORIGIN),
  );
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
