import { hasLineBreakers, oneLine, UnsafeValueError } from "./one-line.ts";

const FORMAT = "a systemd file";

/**
 * A value after `Key=` in a systemd unit, .netdev or .network file. systemd reads one assignment per
 * line, joins a line ending in a backslash with the next, and trims the value, so a value that spans
 * lines, ends in a backslash or has surrounding whitespace would not be read back as written.
 */
export function iniValue(value: string, what = "value"): string {
  if (hasLineBreakers(value)) throw new UnsafeValueError(FORMAT, what, value, "it spans lines");
  if (value.endsWith("\\")) throw new UnsafeValueError(FORMAT, what, value, "it ends in a backslash");
  if (value !== value.trim())
    throw new UnsafeValueError(FORMAT, what, value, "it starts or ends with a space");
  return value;
}

export function iniAssign(key: string, value: string | number): string {
  return `${key}=${iniValue(String(value), key)}`;
}

/** A `#` line; a trailing backslash is kept off it so it cannot swallow the next line. */
export function iniComment(text: string): string {
  const line = `# ${oneLine(text)}`;
  return line.endsWith("\\") ? `${line} ` : line;
}

/**
 * One word of ExecStart= or a path of ReadWritePaths=: systemd splits on whitespace, understands
 * double quotes and expands `%` specifiers and `$` variables, so those are quoted or doubled.
 */
export function unitWord(word: string, what = "word"): string {
  if (word === "" || hasLineBreakers(word)) {
    throw new UnsafeValueError(FORMAT, what, word, "it is empty or spans lines");
  }
  const literal = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_./:=@,+%$-]+$/.test(literal)) return literal;
  return `"${literal.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
