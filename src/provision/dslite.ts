import { MapectlError } from "../mape/errors.ts";
import { formatIpv6, ipv6PrefixContains, parseIpv6, type Ipv6Prefix } from "../mape/ipv6.ts";
import type { AftrNameTable } from "../rules/aftr-names.ts";
import type { NotMapePrefix } from "../rules/table.ts";
import { hostNameProblem } from "../text/host-name.ts";
import { oneLine } from "../text/one-line.ts";

/**
 * DS-Lite (RFC 6333): the B4 needs nothing but the AFTR, given by HB46PP (`dslite.aftr`, a name or
 * an address), by DHCPv6 (OPTION_AFTR_NAME, RFC 6334), by the shipped table of the service's AFTR
 * name, or by the user (`--aftr`).
 */
export type AftrFrom = "hb46pp" | "dhcpv6" | "tables" | "configuration";

export interface AftrParameters {
  /** The AFTR's host name, resolved (AAAA) before use; null when the source gave an address. */
  readonly name: string | null;
  /** The AFTR's IPv6 address when the source gave one; else the resolver's answer fills it in. */
  readonly address: string | null;
  readonly from: AftrFrom;
  /** The service the prefix belongs to, when a table says so. */
  readonly service: string | null;
}

/** No usable AFTR: says which source was asked and where the AFTR would come from. */
export class DsLiteError extends MapectlError {
  constructor(message: string) {
    super("no-parameters", oneLine(message));
    this.name = "DsLiteError";
  }
}

const AFTR_SOURCES =
  "HB46PP's dslite.aftr, DHCPv6 option 64 (AFTR-Name), the shipped table for the prefix, or --aftr / aftr = … in the configuration";

/** The AFTR of a name or address as text (HB46PP's `aftr`, `--aftr`): a bad one names its source. */
export function aftrFromText(text: string, from: AftrFrom, service: string | null = null): AftrParameters {
  if (text.includes(":")) {
    try {
      return { name: null, address: formatIpv6(parseIpv6(text)), from, service };
    } catch (err) {
      throw new DsLiteError(
        `the AFTR "${text.slice(0, 60)}" from ${from} is not an IPv6 address: ${(err as Error).message}`,
      );
    }
  }
  const problem = hostNameProblem(text);
  if (problem !== null) throw new DsLiteError(`the AFTR name from ${from} ${problem}`);
  return { name: text.replace(/\.$/, "").toLowerCase(), address: null, from, service };
}

/** The DS-Lite service whose prefix holds `prefix`, from the shipped not-MAP-E table. */
export function dsLiteService(prefix: Ipv6Prefix, notMape: readonly NotMapePrefix[]): NotMapePrefix | null {
  return (
    notMape.find(
      (entry) =>
        entry.kind === "ds-lite" &&
        ipv6PrefixContains(entry.prefix, { ...prefix, length: Math.max(prefix.length, entry.prefix.length) }),
    ) ?? null
  );
}

/** The AFTR the shipped tables know for the prefix's service: its name, else the address on record. */
export function aftrFromTables(
  prefix: Ipv6Prefix,
  notMape: readonly NotMapePrefix[],
  names: AftrNameTable,
): AftrParameters | null {
  const entry = dsLiteService(prefix, notMape);
  if (entry === null) return null;
  const name = names.get(entry.service);
  if (name !== undefined) return { name, address: null, from: "tables", service: entry.service };
  if (entry.aftr === null) return null;
  return aftrFromText(entry.aftr, "tables", entry.service);
}

/** The AFTR for a line with no network source: the user's, else the tables', else a clear error. */
export function aftrWithoutNetwork(
  configured: string | null,
  prefix: Ipv6Prefix | null,
  notMape: readonly NotMapePrefix[],
  names: AftrNameTable,
): AftrParameters {
  if (configured !== null) return aftrFromText(configured, "configuration");
  const found = prefix === null ? null : aftrFromTables(prefix, notMape, names);
  if (found !== null) return found;
  throw new DsLiteError(`no AFTR for this line: none of ${AFTR_SOURCES} names one`);
}

/** Text for a report: "gw.transix.jp (2404:8e00::feed:100, from tables)". */
export function describeAftr(aftr: AftrParameters): string {
  const what = aftr.name ?? aftr.address ?? "unknown";
  const address = aftr.name !== null && aftr.address !== null ? `${aftr.address}, ` : "";
  return `${what} (${address}from ${aftr.from})`;
}
