import { oneLine } from "./one-line.ts";

/**
 * Text for one journal or log line. Line breakers are shown as escapes, so a string from the
 * network (a service name, an error from a server) cannot forge a line of its own; a backslash is
 * doubled first, so a literal "\n" written by a server stays distinguishable from an escaped break.
 */
export function logText(text: string): string {
  return oneLine(text.replace(/\\/g, "\\\\"));
}
