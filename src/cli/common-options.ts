import { Option } from "commander";
import { INTERFACE_ID_LAYOUTS, type InterfaceIdLayout } from "../mape/interface-id.ts";
import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { CliError } from "./exit-codes.ts";

/** For repeatable options: each use adds one value. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function interfaceIdLayout(value: string): InterfaceIdLayout {
  const layout = INTERFACE_ID_LAYOUTS.find((l) => l === value);
  if (layout === undefined) {
    throw new CliError("usage", `--iid must be ${INTERFACE_ID_LAYOUTS.join(" or ")}, not "${value}"`);
  }
  return layout;
}

/**
 * --iid for every command that computes a CE address. The choices show in help and completion;
 * the parser gives mapectl's own one-line error instead of commander's.
 */
export function interfaceIdOption(description: string): Option {
  return new Option("--iid <layout>", description).choices(INTERFACE_ID_LAYOUTS).argParser(interfaceIdLayout);
}

/** The help of every --json option. */
export const JSON_HELP = `print one JSON object (schemaVersion ${SCHEMA_VERSION})`;

/**
 * --source means the same in every command: which sources to ask for the parameters. One of
 * hb46pp, dhcpv6, tables, manual, or auto for all of them in order (all is the same as auto).
 * provision, which only asks and compares, also takes a comma list.
 */
export const SOURCE_HELP =
  "which source gives the parameters: hb46pp, dhcpv6, tables, manual, or auto (each in turn: HB46PP, DHCPv6, then the tables; all means the same; one empty HB46PP order or an answer for a method this CE did not claim keeps MAP-E, two empty orders in a row withdraw it); default: tables for --method map-e, auto for ds-lite and auto";

/** auto and all both mean every source, in the preference order. */
export function isEverySource(source: string): boolean {
  return source === "auto" || source === "all";
}

/** --method means the same in every command that builds a plan. */
export const METHOD_HELP =
  "the IPv4 method: map-e (default), ds-lite, ipip (not yet supported), or auto (what HB46PP's order, DHCPv6 or the tables say for the line)";
