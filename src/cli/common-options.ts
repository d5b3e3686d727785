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
