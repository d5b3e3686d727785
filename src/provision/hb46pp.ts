import { isMapeError } from "../mape/errors.ts";
import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import { parseIpv4Prefix } from "../mape/ipv4.ts";
import { formatIpv6, parseIpv6, parseIpv6Prefix } from "../mape/ipv6.ts";
import { makeRule, type MapRule } from "../mape/rule.ts";
import { validateRuleFromSource } from "../rules/source-checks.ts";
import { DecodeError } from "./errors.ts";
import { DEFAULT_CLAIM, isToken } from "./hb46pp-request.ts";

/**
 * HB46PP (v6pc/v6mig-prov spec.md 1.1, "IPv6マイグレーション技術の国内標準プロビジョニング方式"):
 * the TXT record of 4over6.info names a provisioning server; a GET with the CE's identity returns
 * JSON whose map_e part is the RFC 7598 rule set in JSON.
 */
export * from "./hb46pp-request.ts";

export interface Hb46ppMapE {
  /** 0 = draft-ietf-softwire-map-03 interface ID, 1 = RFC 7597 (spec §3.4). */
  readonly version: 0 | 1;
  readonly ceInterfaceId: InterfaceIdLayout;
  readonly mesh: boolean;
  readonly br: string;
  readonly rules: readonly MapRule[];
}

export interface Hb46ppIpip {
  readonly ipv6Local: string;
  readonly ipv6Remote: string;
  readonly ipv4: string;
}

export interface Hb46ppReply {
  readonly enablerName: string | null;
  readonly serviceName: string | null;
  readonly ispName: string | null;
  /** Seconds, at most 604800; null when the server sent none (then re-query in 20–24 h). */
  readonly ttl: number | null;
  readonly token: string | null;
  readonly auth: string | null;
  readonly order: readonly string[];
  readonly mapE: Hb46ppMapE | null;
  readonly dslite: { readonly aftr: string } | null;
  readonly ipip: readonly Hb46ppIpip[] | null;
  /** Other methods present in the reply (map_t, lw4o6, 464xlat): recognised, not used. */
  readonly otherMethods: readonly string[];
  readonly warnings: readonly string[];
}

export const MAX_TTL = 604800;
/** Larger bodies are not provisioning data; 256 rules of JSON are about 30 KB. */
export const MAX_BODY = 1 << 20;

function bad(field: string, reason: string): DecodeError {
  return new DecodeError("hb46pp-reply", field, reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

function optionalString(doc: Record<string, unknown>, key: string, field = key): string | null {
  const value = doc[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw bad(field, `must be a string, not ${kind(value)}`);
  return value;
}

function requiredString(doc: Record<string, unknown>, key: string, field: string): string {
  const value = optionalString(doc, key, field);
  if (value === null) throw bad(field, "is missing");
  return value;
}

function integer(doc: Record<string, unknown>, key: string, field: string, min: number, max: number): number {
  const value = doc[key];
  if (value === undefined || value === null) throw bad(field, "is missing");
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw bad(field, `must be a whole number from ${min} to ${max}, not ${kind(value)}`);
  }
  return value;
}

function ipv6Address(text: string, field: string): string {
  try {
    return formatIpv6(parseIpv6(text));
  } catch (err) {
    if (!isMapeError(err)) throw err;
    throw bad(field, err.message);
  }
}

function parseMapE(value: unknown): Hb46ppMapE {
  if (!isRecord(value)) throw bad("map_e", `must be an object, not ${kind(value)}`);
  const rawVersion = value.version ?? 0;
  if (rawVersion !== 0 && rawVersion !== 1)
    throw bad("map_e.version", `must be 0 (draft-03) or 1 (RFC 7597), not ${kind(rawVersion)}`);
  const rawMesh = value.mesh ?? false;
  if (rawMesh !== true && rawMesh !== false && rawMesh !== 0 && rawMesh !== 1) {
    throw bad("map_e.mesh", `must be true, false, 0 or 1, not ${kind(rawMesh)}`);
  }
  const br = ipv6Address(requiredString(value, "br", "map_e.br"), "map_e.br");
  if (!Array.isArray(value.rules)) {
    throw bad(
      "map_e.rules",
      value.rules === undefined ? "is missing" : `must be an array, not ${kind(value.rules)}`,
    );
  }
  if (value.rules.length === 0) throw bad("map_e.rules", "is empty");
  const rules = value.rules.map((raw: unknown, index): MapRule => {
    const field = `map_e.rules[${index}]`;
    if (!isRecord(raw)) throw bad(field, `must be an object, not ${kind(raw)}`);
    const ipv6 = requiredString(raw, "ipv6", `${field}.ipv6`);
    const ipv4 = requiredString(raw, "ipv4", `${field}.ipv4`);
    const eaBits = integer(raw, "ea_length", `${field}.ea_length`, 0, 48);
    const psidOffset = integer(raw, "psid_offset", `${field}.psid_offset`, 0, 16);
    // Name the field that is wrong before the core explains what is wrong with the rule as a whole.
    for (const [key, text, parse] of [
      ["ipv6", ipv6, parseIpv6Prefix],
      ["ipv4", ipv4, parseIpv4Prefix],
    ] as const) {
      try {
        parse(text);
      } catch (err) {
        if (!isMapeError(err)) throw err;
        throw bad(`${field}.${key}`, err.message);
      }
    }
    try {
      const rule = makeRule({ ipv6Prefix: ipv6, ipv4Prefix: ipv4, eaBits, psidOffset, br });
      // Every rule of the answer, not only the one this CE picks: a hostile one is named where it is.
      validateRuleFromSource(rule, { label: "HB46PP answer", code: "INVALID_RULE" });
      return rule;
    } catch (err) {
      if (!isMapeError(err)) throw err;
      throw bad(field, err.message);
    }
  });
  return {
    version: rawVersion,
    ceInterfaceId: rawVersion === 1 ? "rfc7597" : "draft-03",
    mesh: rawMesh === true || rawMesh === 1,
    br,
    rules,
  };
}

function parseIpip(value: unknown): Hb46ppIpip[] {
  if (!Array.isArray(value)) throw bad("ipip", `must be an array, not ${kind(value)}`);
  return value.map((raw: unknown, index) => {
    const field = `ipip[${index}]`;
    if (!isRecord(raw)) throw bad(field, `must be an object, not ${kind(raw)}`);
    const ipv4 = requiredString(raw, "ipv4", `${field}.ipv4`);
    return {
      ipv6Local: ipv6Address(requiredString(raw, "ipv6_local", `${field}.ipv6_local`), `${field}.ipv6_local`),
      ipv6Remote: ipv6Address(
        requiredString(raw, "ipv6_remote", `${field}.ipv6_remote`),
        `${field}.ipv6_remote`,
      ),
      ipv4,
    };
  });
}

const METHODS = ["464xlat", "dslite", "ipip", "lw4o6", "map_e", "map_t"];

/**
 * Parses the body of a 200 answer (spec §3.4). Every field this client uses or reports is checked
 * and a bad one is a DecodeError naming it; unknown keys are ignored as the spec allows.
 */
export function parseHb46ppReply(body: string | Uint8Array): Hb46ppReply {
  if (body.length > MAX_BODY) throw bad("body", `${body.length} bytes is more than ${MAX_BODY}`);
  let text: string;
  try {
    text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw bad("body", "is not UTF-8 text");
  }
  if (text.trim() === "") throw bad("body", "is empty");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const start = JSON.stringify(text.trim().slice(0, 40));
    throw bad("body", `is not JSON (${(err as Error).message}); it starts ${start}`);
  }
  if (!isRecord(doc)) throw bad("body", `must be a JSON object, not ${kind(doc)}`);
  const warnings: string[] = [];
  let ttl: number | null = null;
  if (doc.ttl !== undefined && doc.ttl !== null) {
    const raw = doc.ttl;
    if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0) {
      throw bad("ttl", `must be a whole number of seconds, not ${kind(raw)}`);
    }
    if (raw > MAX_TTL)
      warnings.push(`ttl ${raw} is more than ${MAX_TTL} (7 days, spec §3.4); using ${MAX_TTL}`);
    ttl = Math.min(raw, MAX_TTL);
  }
  let token = optionalString(doc, "token");
  if (token !== null && !isToken(token)) {
    warnings.push("token is not 64 lower-case hex digits (spec §3.4); not sending it back");
    token = null;
  }
  if (!Array.isArray(doc.order)) {
    throw bad("order", doc.order === undefined ? "is missing" : `must be an array, not ${kind(doc.order)}`);
  }
  const order = doc.order.map((m: unknown, i): string => {
    if (typeof m !== "string") throw bad(`order[${i}]`, `must be a string, not ${kind(m)}`);
    return m;
  });
  for (const m of order)
    if (!METHODS.includes(m)) warnings.push(`order names an unknown method "${m.slice(0, 40)}"`);
  const mapE = doc.map_e === undefined || doc.map_e === null ? null : parseMapE(doc.map_e);
  if (order.includes("map_e") && mapE === null) throw bad("map_e", 'is missing although order lists "map_e"');
  let dslite: { aftr: string } | null = null;
  if (doc.dslite !== undefined && doc.dslite !== null) {
    if (!isRecord(doc.dslite)) throw bad("dslite", `must be an object, not ${kind(doc.dslite)}`);
    dslite = { aftr: requiredString(doc.dslite, "aftr", "dslite.aftr") };
  }
  const ipip = doc.ipip === undefined || doc.ipip === null ? null : parseIpip(doc.ipip);
  const otherMethods = ["map_t", "lw4o6", "464xlat"].filter((m) => doc[m] !== undefined && doc[m] !== null);
  return {
    enablerName: optionalString(doc, "enabler_name"),
    serviceName: optionalString(doc, "service_name"),
    ispName: optionalString(doc, "isp_name"),
    ttl,
    token,
    auth: optionalString(doc, "auth"),
    order,
    mapE,
    dslite,
    ipip,
    otherMethods,
    warnings,
  };
}

/** What the reply means for this CE, in the order the server prefers (spec §3.4 "order"). */
export type Hb46ppVerdict =
  | { readonly kind: "map-e"; readonly mapE: Hb46ppMapE; readonly preferred: readonly string[] }
  | { readonly kind: "no-service" }
  /** Methods this CE claimed but that are not MAP-E: the server chose another method for this line. */
  | { readonly kind: "not-map-e"; readonly methods: readonly string[]; readonly description: string }
  /** Only methods this CE did not claim: a server that ignores `capability`, which says nothing of MAP-E. */
  | { readonly kind: "unclaimed"; readonly methods: readonly string[]; readonly description: string };

function describeMethods(reply: Hb46ppReply, methods: readonly string[]): string {
  return methods
    .map((m) => {
      if (m === "dslite" && reply.dslite !== null) return `DS-Lite (AFTR ${reply.dslite.aftr})`;
      if (m === "ipip" && reply.ipip !== null && reply.ipip[0] !== undefined) {
        const t = reply.ipip[0];
        return `IPIP (fixed IPv4 ${t.ipv4}, tunnel ${t.ipv6Local} → ${t.ipv6Remote})`;
      }
      return (
        { dslite: "DS-Lite", ipip: "IPIP", map_t: "MAP-T", lw4o6: "lw4o6", "464xlat": "464XLAT" }[m] ??
        m.slice(0, 40)
      );
    })
    .join(", then ");
}

export function hb46ppVerdict(
  reply: Hb46ppReply,
  capability: readonly string[] = DEFAULT_CLAIM,
): Hb46ppVerdict {
  if (reply.order.length === 0) return { kind: "no-service" };
  const at = reply.order.indexOf("map_e");
  if (at >= 0 && reply.mapE !== null && capability.includes("map_e"))
    return { kind: "map-e", mapE: reply.mapE, preferred: reply.order.slice(0, at) };
  const description = describeMethods(reply, reply.order);
  if (reply.order.some((m) => capability.includes(m)))
    return { kind: "not-map-e", methods: reply.order, description };
  return { kind: "unclaimed", methods: reply.order, description };
}
