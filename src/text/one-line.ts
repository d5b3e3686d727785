import { MapectlError } from "../base/mapectl-error.ts";

/**
 * Characters that end or rewrite a line for some reader: C0 and C1 controls (newline, carriage
 * return, NUL, escape), the Unicode line and paragraph separators, and the bidirectional overrides
 * that make a line display differently from what a parser reads.
 */
// Matching control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const LINE_BREAKERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

export function hasLineBreakers(text: string): boolean {
  return new RegExp(LINE_BREAKERS.source, "u").test(text);
}

function visible(char: string): string {
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  if (char === "\t") return "\\t";
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * The text on one line, every line breaker shown as a backslash escape: a value from a rules file or
 * the network can then be read in a comment or a log line but can never start a line of its own.
 */
export function oneLine(text: string): string {
  return text.replace(LINE_BREAKERS, visible);
}

/**
 * Thrown when a value cannot be written into a file format safely; the message names the value. It
 * came from a configuration or rules file (or the network through one), hence the config category.
 */
export class UnsafeValueError extends MapectlError {
  constructor(format: string, what: string, value: string, why: string) {
    super("config", `${what} "${oneLine(value)}" cannot be written into ${format}: ${why}`);
    this.name = "UnsafeValueError";
  }
}
