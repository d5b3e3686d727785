import { MapectlError } from "../mape/errors.ts";
import { oneLine } from "../text/one-line.ts";

/**
 * The provider's update URL of a fixed-IPv4 IPIP line (JPNE v6プラス 固定IP, transix 固定IP, …):
 * an HTTP(S) GET that registers the line's current prefix, so the BR sends the fixed address's
 * traffic to this CE. Providers spell the query differently, so the URL is a template whose
 * placeholders mapectl fills in, each value percent-encoded:
 *
 *   {user} {password}  the account (from the configuration or the credentials file, never a flag)
 *   {ipv6}             the CE address (the tunnel's IPv6 source)
 *   {prefix}           the line's prefix, as 2001:db8:1:2300::/56
 *   {ipv4}             the fixed IPv4 address
 *
 * Without {password} in the template the account goes as HTTP Basic authentication instead.
 */
export const UPDATE_PLACEHOLDERS = ["user", "password", "ipv6", "prefix", "ipv4"] as const;
export type UpdatePlaceholder = (typeof UPDATE_PLACEHOLDERS)[number];

/** How often the update is repeated when the provider says nothing: once an hour. */
export const DEFAULT_UPDATE_INTERVAL = 3600;
export const MIN_UPDATE_INTERVAL = 60;
export const MAX_UPDATE_INTERVAL = 86400;

export class UpdateUrlError extends MapectlError {
  constructor(message: string) {
    super("config", oneLine(message));
    this.name = "UpdateUrlError";
  }
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Checks a template: http(s), a host without placeholders, no user:password@, only known names. */
export function checkUpdateUrl(template: string, where: string): string {
  if (template.length > 2000)
    throw new UpdateUrlError(`${where}: the update URL is longer than 2000 characters`);
  if (/[\s\p{Cc}]/u.test(template))
    throw new UpdateUrlError(`${where}: the update URL contains spaces or control characters`);
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? "";
    if (!(UPDATE_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new UpdateUrlError(
        `${where}: unknown placeholder {${name.slice(0, 30)}} in the update URL (known: ${UPDATE_PLACEHOLDERS.map((p) => `{${p}}`).join(" ")})`,
      );
    }
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, "")))
    throw new UpdateUrlError(`${where}: the update URL has an unmatched { or }`);
  let url: URL;
  try {
    url = new URL(template.replace(PLACEHOLDER, "x"));
  } catch {
    throw new UpdateUrlError(`${where}: the update URL is not a URL (want https://host/path?query)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new UpdateUrlError(`${where}: the update URL's scheme must be https or http`);
  if (url.username !== "" || url.password !== "")
    throw new UpdateUrlError(
      `${where}: the update URL must not carry user:password@ (use {user} and {password}, filled from the credentials)`,
    );
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(template)?.[1] ?? "";
  if (authority.includes("{"))
    throw new UpdateUrlError(`${where}: placeholders may stand in the path and query, not in the host`);
  return template;
}

export interface UpdateValues {
  readonly user: string;
  readonly password: string;
  readonly ipv6: string;
  readonly prefix: string;
  readonly ipv4: string;
}

/**
 * The URL to call and the Authorization header when the template has no {password}. Every value is
 * percent-encoded (encodeURIComponent), so none can add a parameter or leave the query.
 */
export function expandUpdateUrl(
  template: string,
  values: UpdateValues,
): { url: string; authorization: string | null } {
  const url = template.replace(PLACEHOLDER, (_, name: string) =>
    encodeURIComponent(values[name as UpdatePlaceholder]),
  );
  const basic = template.includes("{password}")
    ? null
    : `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${values.user}:${values.password}`)))}`;
  return { url, authorization: basic };
}

export type UpdateVerdict =
  | { readonly kind: "registered"; readonly detail: string }
  | { readonly kind: "refused"; readonly detail: string }
  | { readonly kind: "failed"; readonly detail: string };

/** Words providers' update servers answer a wrong account with (English and Japanese). */
const REFUSED_BODY =
  /\b(unauthori[sz]ed|auth(entication)?[ _-]?(error|fail(ed|ure)?|ng)|bad ?auth|badauth|invalid (user|password|account|login|credentials?)|login (failed|error)|wrong password)\b|認証(エラー|失敗|に失敗)|パスワードが(違|誤)/iu;
const FAILED_BODY = /^\s*(ng|error|fail(ed|ure)?)\b/iu;

/** Text with every secret (as given and percent-encoded) replaced by "***". */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets.filter((s) => s.length > 0)) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join("***");
  }
  return out;
}

/**
 * The server's answer read as a verdict; the detail is one line of what it said, with the
 * password scrubbed (a server may echo its query).
 */
export function updateVerdict(status: number, body: string, secrets: readonly string[]): UpdateVerdict {
  const text = scrubSecrets(body, secrets);
  const said = oneLine(
    text
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  ).slice(0, 120);
  const detail = `HTTP ${status}${said === "" ? "" : `: ${said}`}`;
  if (status === 401 || status === 403) return { kind: "refused", detail };
  if (REFUSED_BODY.test(text)) return { kind: "refused", detail };
  if (status < 200 || status > 299) return { kind: "failed", detail };
  if (FAILED_BODY.test(said)) return { kind: "failed", detail };
  return { kind: "registered", detail };
}

/**
 * The last call of the update URL, as up and the daemon keep it (a state file) and doctor reads it:
 * the scrubbed detail only, never the account.
 */
export interface UpdateRecord {
  /** ISO 8601. */
  readonly at: string;
  readonly kind: UpdateVerdict["kind"];
  readonly detail: string;
  /** The CE address and prefix that were sent. */
  readonly ceAddress: string;
  readonly prefix: string;
}
