import { isMapeError } from "../mape/errors.ts";
import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import { parseIpv4Prefix } from "../mape/ipv4.ts";
import { formatIpv6, parseIpv6, parseIpv6Prefix } from "../mape/ipv6.ts";
import { makeRule, type MapRule } from "../mape/rule.ts";
import { DecodeError } from "./errors.ts";

/**
 * HB46PP (v6pc/v6mig-prov spec.md 1.1, "IPv6マイグレーション技術の国内標準プロビジョニング方式"):
 * the TXT record of 4over6.info names a provisioning server; a GET with the CE's identity returns
 * JSON whose map_e part is the RFC 7598 rule set in JSON.
 */
export const HB46PP_NAME = "4over6.info";

export interface Hb46ppRecord {
  readonly url: string;
  /** t=b: verify the server certificate; t=a: do not (spec §3.1). */
  readonly verifyCertificate: boolean;
  readonly warnings: readonly string[];
}

const MAX_TXT = 2048;

function txtError(field: string, reason: string): DecodeError {
  return new DecodeError("hb46pp-txt", field, reason);
}

/**
 * Parses the TXT answer for 4over6.info. `records` is what a resolver returns: one array of
 * character-strings per record, which together form the record's text (RFC 7208 §3.3 style).
 */
export function parseTxtRecords(records: readonly (readonly string[])[]): Hb46ppRecord {
  const texts = records.map((chunks) => chunks.join(""));
  const ours = texts.filter((t) => /^v=v6mig-/.test(t.trim()));
  if (ours.length === 0) {
    const shown = texts.map((t) => JSON.stringify(t.slice(0, 80))).join(", ");
    throw txtError(
      "TXT 4over6.info",
      `no record starts with "v=v6mig-" (got ${texts.length === 0 ? "no records" : shown})`,
    );
  }
  if (ours.length > 1) {
    throw txtError("TXT 4over6.info", `${ours.length} v6mig records; the spec allows exactly one (§3.1)`);
  }
  return parseTxtText(ours[0] ?? "");
}

/** One record's text, e.g. `v=v6mig-1 url=https://vne.example.jp/rule.cgi t=b`. */
export function parseTxtText(text: string): Hb46ppRecord {
  if (text.length > MAX_TXT)
    throw txtError("TXT 4over6.info", `${text.length} characters is longer than ${MAX_TXT}`);
  // Control characters cannot be part of a URL and would garble the one-line reports.
  if (/\p{Cc}/u.test(text)) throw txtError("TXT 4over6.info", "contains control characters");
  const fields = new Map<string, string>();
  for (const item of text.trim().split(/ +/)) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw txtError("TXT 4over6.info", `"${item.slice(0, 60)}" is not key=value`);
    const key = item.slice(0, eq);
    if (fields.has(key)) throw txtError(`TXT 4over6.info ${key}`, "appears more than once");
    fields.set(key, item.slice(eq + 1));
  }
  const version = fields.get("v");
  if (version !== "v6mig-1") {
    throw txtError(
      "TXT 4over6.info v",
      `"${version ?? ""}" is not v6mig-1, the only version this client speaks`,
    );
  }
  const urlText = fields.get("url");
  if (urlText === undefined || urlText === "") throw txtError("TXT 4over6.info url", "is missing");
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw txtError("TXT 4over6.info url", `"${urlText.slice(0, 100)}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw txtError(
      "TXT 4over6.info url",
      `scheme ${url.protocol.replace(/:$/, "")} is neither https nor http`,
    );
  }
  if (url.username !== "" || url.password !== "")
    throw txtError("TXT 4over6.info url", "must not carry user:password@");
  const warnings: string[] = [];
  let t = fields.get("t");
  if (t === undefined) {
    warnings.push("the TXT record has no t=; not verifying the certificate (t=a)");
    t = "a";
  }
  if (t !== "a" && t !== "b") throw txtError("TXT 4over6.info t", `"${t}" is neither a nor b`);
  if (t === "b" && url.protocol === "http:") {
    throw txtError(
      "TXT 4over6.info t",
      "t=b asks to verify a certificate, but the url is http (spec §3.1: http means t=a)",
    );
  }
  return { url: url.href, verifyCertificate: t === "b", warnings };
}

export interface CeIdentity {
  /** OUI (6 hex digits), optionally "-" and up to 24 of [0-9A-Za-z_] (spec §3.3). */
  readonly vendorId: string;
  /** Up to 32 of [0-9A-Za-z_-]. */
  readonly product: string;
  /** [0-9_]{1,32}: a version with "_" for ".". */
  readonly version: string;
  readonly capability?: readonly string[];
  readonly token?: string | undefined;
}

/**
 * The values the spec's own example uses and that public HB46PP clients send; provisioning servers
 * answer by source address, and these are known to be accepted.
 */
export const DEFAULT_IDENTITY: CeIdentity = {
  vendorId: "acde48-v6pc_swg_hgw",
  product: "V6MIG-ROUTER",
  version: "0_00",
};

/** What this CE can use (map_e) and what it can recognise to report (dslite, ipip). */
export const DEFAULT_CAPABILITY = ["map_e", "dslite", "ipip"] as const;

export function checkIdentity(identity: CeIdentity): string | null {
  if (!/^[0-9A-Fa-f]{6}(-[0-9A-Za-z_]{1,24})?$/.test(identity.vendorId)) {
    return `vendor id "${identity.vendorId}" must be a 6-hex-digit OUI, optionally followed by - and up to 24 of 0-9 a-z A-Z _`;
  }
  if (!/^[0-9A-Za-z_-]{1,32}$/.test(identity.product)) {
    return `product "${identity.product}" must be 1 to 32 of 0-9 a-z A-Z - _`;
  }
  if (!/^[0-9_]{1,32}$/.test(identity.version)) {
    return `version "${identity.version}" must be 1 to 32 digits or _ (use _ for .)`;
  }
  if (identity.token !== undefined && !/^[0-9a-f]{64}$/.test(identity.token)) {
    return "token must be the 64 lower-case hex digits the server sent";
  }
  return null;
}

/** The GET URL of spec §3.3: the server's URL with the CE's parameters added to its query. */
export function requestUrl(serverUrl: string, identity: CeIdentity): string {
  const url = new URL(serverUrl);
  url.searchParams.append("vendorid", identity.vendorId);
  url.searchParams.append("product", identity.product);
  url.searchParams.append("version", identity.version);
  url.searchParams.append("capability", (identity.capability ?? DEFAULT_CAPABILITY).join(","));
  if (identity.token !== undefined) url.searchParams.append("token", identity.token);
  return url.href;
}

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
      return makeRule({ ipv6Prefix: ipv6, ipv4Prefix: ipv4, eaBits, psidOffset, br });
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
  if (token !== null && !/^[0-9a-f]{64}$/.test(token)) {
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

/** What the reply means for a MAP-E CE, in the order the server prefers (spec §3.4 "order"). */
export type Hb46ppVerdict =
  | { readonly kind: "map-e"; readonly mapE: Hb46ppMapE; readonly preferred: readonly string[] }
  | { readonly kind: "no-service" }
  | { readonly kind: "not-map-e"; readonly methods: readonly string[]; readonly description: string };

export function hb46ppVerdict(reply: Hb46ppReply): Hb46ppVerdict {
  if (reply.order.length === 0) return { kind: "no-service" };
  const at = reply.order.indexOf("map_e");
  if (at >= 0 && reply.mapE !== null)
    return { kind: "map-e", mapE: reply.mapE, preferred: reply.order.slice(0, at) };
  const parts = reply.order.map((m) => {
    if (m === "dslite" && reply.dslite !== null) return `DS-Lite (AFTR ${reply.dslite.aftr})`;
    if (m === "ipip" && reply.ipip !== null && reply.ipip[0] !== undefined) {
      const t = reply.ipip[0];
      return `IPIP (fixed IPv4 ${t.ipv4}, tunnel ${t.ipv6Local} → ${t.ipv6Remote})`;
    }
    return { dslite: "DS-Lite", ipip: "IPIP", map_t: "MAP-T", lw4o6: "lw4o6", "464xlat": "464XLAT" }[m] ?? m;
  });
  return { kind: "not-map-e", methods: reply.order, description: parts.join(", then ") };
}
