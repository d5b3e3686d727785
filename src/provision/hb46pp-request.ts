/**
 * What an HB46PP CE sends and how it finds where to send it (spec §3.1, §3.3): the TXT record of
 * 4over6.info, and the identity and capability in the GET's query.
 */
import { DecodeError } from "./errors.ts";

/** The DNS name whose TXT record names the provisioning server (spec §3.1). */
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
  const t = fields.get("t");
  // Guessing t=a would switch certificate checks off on a record that may simply be cut short.
  if (t === undefined)
    throw txtError("TXT 4over6.info t", "is missing (the spec requires t=a or t=b); not guessing");
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
  /** Spec §3.3's optional account; never shown: see redactUrl. */
  readonly user?: string | undefined;
  readonly pass?: string | undefined;
}

/**
 * What mapectl says it is. AC-DE-48 is the IEEE's example OUI (the spec's own example uses it), so
 * it claims no real vendor; servers choose by source address, not by these.
 */
export const DEFAULT_IDENTITY: CeIdentity = {
  vendorId: "acde48-mapectl",
  product: "mapectl",
  version: "0_1",
};

/** The v6mig method names a CE can claim in `capability` (spec §3.3). */
export type Hb46ppMethod = "map_e" | "dslite" | "ipip" | "map_t" | "lw4o6" | "464xlat";

/**
 * The methods this CE can run: servers choose by `capability`, and a method claimed but not run
 * reads as "no service" on lines that offer only it. What a CE claims is narrowed to the method the
 * user chose (claimedMethods).
 */
export const IMPLEMENTED_METHODS: readonly Hb46ppMethod[] = ["map_e", "dslite", "ipip"];

/** What a CE claims when its identity names no capability: MAP-E, the default method's. */
export const DEFAULT_CLAIM: readonly Hb46ppMethod[] = ["map_e"];

/**
 * What the CE claims for the user's method: only MAP-E for map-e (so a server that prefers DS-Lite
 * or a fixed address still answers MAP-E where it has it, as before those methods existed), only
 * that method for ds-lite or ipip, and every implemented method for auto, in the server's hands.
 */
export function claimedMethods(method: "auto" | "map-e" | "ds-lite" | "ipip"): readonly Hb46ppMethod[] {
  if (method === "map-e") return DEFAULT_CLAIM;
  if (method === "ds-lite") return ["dslite"];
  if (method === "ipip") return ["ipip"];
  return IMPLEMENTED_METHODS;
}

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
  if (identity.token !== undefined && !isToken(identity.token)) {
    return "token must be the 64 lower-case hex digits the server sent";
  }
  if ((identity.user === undefined) !== (identity.pass === undefined)) {
    return "HB46PP user and pass go together: give both or neither";
  }
  for (const [name, value] of [
    ["user", identity.user],
    ["pass", identity.pass],
  ] as const) {
    if (value !== undefined && !/^[\x21-\x7e]{1,256}$/.test(value))
      return `HB46PP ${name} must be 1 to 256 printable characters without spaces`;
  }
  return null;
}

/** Spec §3.4: a token is 64 lower-case hex digits. */
export function isToken(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

/** The GET URL of spec §3.3: the server's URL with the CE's parameters added to its query. */
export function requestUrl(serverUrl: string, identity: CeIdentity): string {
  const url = new URL(serverUrl);
  url.searchParams.append("vendorid", identity.vendorId);
  url.searchParams.append("product", identity.product);
  url.searchParams.append("version", identity.version);
  url.searchParams.append("capability", (identity.capability ?? DEFAULT_CLAIM).join(","));
  if (identity.token !== undefined) url.searchParams.append("token", identity.token);
  if (identity.user !== undefined && identity.pass !== undefined) {
    url.searchParams.append("user", identity.user);
    url.searchParams.append("pass", identity.pass);
  }
  return url.href;
}

/** A request URL fit for a report or a log: the account's values replaced. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/([?&](?:user|pass)=)[^&\s]*/g, "$1(redacted)");
  }
  for (const key of ["user", "pass"]) if (url.searchParams.has(key)) url.searchParams.set(key, "(redacted)");
  return url.href;
}
