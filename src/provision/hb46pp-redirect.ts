import { ipv6Class } from "../mape/address-class.ts";
import { parseIpv6 } from "../mape/ipv6.ts";
import { redactUrl, type Hb46ppRecord } from "./hb46pp.ts";

/** Where a 307/308 goes, or why it cannot be followed. */
export function redirectTarget(
  shown: string,
  url: string,
  status: number,
  location: string | null,
  record: Hb46ppRecord,
): URL | string {
  if (location === null) return `GET ${shown}: ${status} without a Location header`;
  let next: URL;
  try {
    next = new URL(location, url);
  } catch {
    return `GET ${shown}: ${status} to "${redactUrl(location).slice(0, 100)}", which is not a URL`;
  }
  if (next.protocol !== "https:" && next.protocol !== "http:")
    return `GET ${shown}: ${status} to a ${next.protocol} URL`;
  if (record.verifyCertificate && next.protocol === "http:")
    return `GET ${shown}: ${status} to ${redactUrl(next.href)}, plain http, but t=b asks for a verified certificate`;
  // Plain http only where the provider's own record chose it (spec §3.1: http means t=a); a
  // redirect must not downgrade an https exchange.
  if (next.protocol === "http:" && new URL(record.url).protocol !== "http:")
    return `GET ${shown}: ${status} to ${redactUrl(next.href)}, plain http after https: not followed`;
  if (next.username !== "" || next.password !== "")
    return `GET ${shown}: ${status} to a URL carrying user:password@: not followed`;
  const local = nonPublicHost(next.hostname);
  if (local !== null)
    return `GET ${shown}: ${status} to ${redactUrl(next.href)}, ${local}: a provisioning server is never redirected there`;
  return next;
}

/**
 * Why a redirect's host is not a public one, or null. Names are checked again by the I/O once
 * resolved; IPv4 literals are refused there anyway (HB46PP is IPv6 only).
 */
function nonPublicHost(hostname: string): string | null {
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (/^localhost\.?$/i.test(bare) || /\.localhost\.?$/i.test(bare)) return "a loopback name";
  if (!bare.includes(":")) return null;
  let value: bigint;
  try {
    value = parseIpv6(bare);
  } catch {
    return "not an IPv6 address";
  }
  const kind = ipv6Class(value);
  return kind === "a global unicast address" ? null : kind;
}
