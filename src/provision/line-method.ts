import type { Ipv6Prefix } from "../mape/ipv6.ts";
import type { AftrNameTable } from "../rules/aftr-names.ts";
import type { NotMapePrefix } from "../rules/table.ts";
import { aftrFromTables, aftrFromText, DsLiteError, type AftrParameters } from "./dslite.ts";
import type { ParameterSource } from "./parameters.ts";
import type { SourceReport } from "./provision.ts";

/** Which IPv4 method the line's sources give, and for DS-Lite its AFTR. */
export type LineMethod =
  | { readonly method: "map-e"; readonly from: ParameterSource }
  | { readonly method: "ds-lite"; readonly from: ParameterSource; readonly aftr: AftrParameters }
  | { readonly method: "ipip"; readonly from: "hb46pp" }
  | { readonly method: null; readonly why: string };

const HB46PP_METHODS: Readonly<Record<string, "map-e" | "ds-lite" | "ipip">> = {
  map_e: "map-e",
  dslite: "ds-lite",
  ipip: "ipip",
};

function textOf(details: SourceReport["details"], key: string): string | null {
  const value = details[key];
  return typeof value === "string" ? value : null;
}

/** HB46PP: the first method of the server's `order` that mapectl knows, with what it needs. */
function fromHb46pp(report: SourceReport): LineMethod | null {
  const order = report.details.order;
  if (!Array.isArray(order)) return null;
  for (const name of order) {
    const method = typeof name === "string" ? HB46PP_METHODS[name] : undefined;
    if (method === undefined) continue;
    if (method === "map-e") return report.ok ? { method, from: "hb46pp" } : null;
    if (method === "ipip") return { method, from: "hb46pp" };
    const aftr = textOf(report.details, "aftr");
    if (aftr === null) return null;
    try {
      return { method, from: "hb46pp", aftr: aftrFromText(aftr, "hb46pp") };
    } catch (err) {
      if (!(err instanceof DsLiteError)) throw err;
      return { method: null, why: err.message };
    }
  }
  return null;
}

/**
 * auto: the first source, in the order asked, that names a method: HB46PP's `order`, then DHCPv6
 * (MAP-E's container, else option 64's AFTR name), then the tables (a MAP-E rule, else the DS-Lite
 * service of the prefix and its AFTR name), then a manual rule.
 */
export function lineMethod(
  sources: readonly SourceReport[],
  prefix: Ipv6Prefix,
  tables: { readonly notMape: readonly NotMapePrefix[]; readonly aftrNames: AftrNameTable },
): LineMethod {
  for (const report of sources) {
    if (report.source === "hb46pp") {
      const found = fromHb46pp(report);
      if (found !== null) return found;
      continue;
    }
    if (report.ok) return { method: "map-e", from: report.source };
    if (report.source === "dhcpv6") {
      const name = textOf(report.details, "aftrName");
      if (name !== null) return { method: "ds-lite", from: "dhcpv6", aftr: aftrFromText(name, "dhcpv6") };
    }
    if (report.source === "tables") {
      const aftr = aftrFromTables(prefix, tables.notMape, tables.aftrNames);
      if (aftr !== null) return { method: "ds-lite", from: "tables", aftr };
    }
  }
  return {
    method: null,
    why: `no source names a method this line can use (${sources.map((s) => `${s.source}: ${s.status}`).join(", ")})`,
  };
}
