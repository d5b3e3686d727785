import { MapeError } from "../mape/errors.ts";
import type { MapRuleSpec } from "../mape/rule.ts";

type FieldKind = "string" | "number";
/** Command-line key, rule field, and value kind of every field a rule spec may carry. */
const FIELDS: readonly (readonly [string, keyof MapRuleSpec, FieldKind])[] = [
  ["ipv6-prefix", "ipv6Prefix", "string"],
  ["ipv4-prefix", "ipv4Prefix", "string"],
  ["ea-bits", "eaBits", "number"],
  ["psid-offset", "psidOffset", "number"],
  ["psid-length", "psidLength", "number"],
  ["psid", "psid", "number"],
  ["br", "br", "string"],
];
export const RULE_SPEC_KEYS = FIELDS.map(([key]) => key);
const REQUIRED: readonly (keyof MapRuleSpec)[] = ["ipv6Prefix", "ipv4Prefix", "eaBits", "psidOffset"];

/**
 * Parses "key=value,key=value" as written on the command line (`--rule`, `--override`) into the
 * fields of a rule; whether they make a valid rule is makeRule's job.
 */
export function parseRuleFields(text: string, flag: string): Partial<MapRuleSpec> {
  const fields: Partial<Record<keyof MapRuleSpec, string | number>> = {};
  for (const item of text.split(",")) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? "" : item.slice(eq + 1).trim();
    if (eq < 0 || value === "") {
      throw new MapeError(
        "INVALID_RULE",
        `${flag}: "${item}" is not key=value (keys: ${RULE_SPEC_KEYS.join(", ")})`,
      );
    }
    const field = FIELDS.find(([name]) => name === key);
    if (field === undefined) {
      throw new MapeError(
        "INVALID_RULE",
        `${flag}: unknown key "${key}" (keys: ${RULE_SPEC_KEYS.join(", ")})`,
      );
    }
    const [, name, kind] = field;
    if (kind === "number" && !/^[0-9]{1,5}$/.test(value)) {
      throw new MapeError("INVALID_RULE", `${flag}: ${key}=${value} is not a whole number`);
    }
    fields[name] = kind === "number" ? Number(value) : value;
  }
  return fields as Partial<MapRuleSpec>;
}

/** A complete manual rule: the four fields a rule cannot do without must all be there. */
export function parseManualRule(text: string): MapRuleSpec {
  const fields = parseRuleFields(text, "--rule");
  const missing = FIELDS.filter(([, name]) => REQUIRED.includes(name) && fields[name] === undefined);
  if (missing.length > 0) {
    throw new MapeError("INVALID_RULE", `--rule: missing ${missing.map(([key]) => key).join(", ")}`);
  }
  return fields as MapRuleSpec;
}
