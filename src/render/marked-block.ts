import { MapectlError } from "../mape/errors.ts";

/**
 * mapectl's lines in a file that is the user's (VyOS's boot script): between a BEGIN and an END
 * line, so that install, render --output-dir and uninstall change those lines and no other.
 */
export interface MarkedBlock {
  readonly begin: string;
  readonly end: string;
  /** The block itself, its BEGIN and END lines included, ending in a newline. */
  readonly text: string;
}

/** Where the block's lines are, or null when the file has none; a BEGIN without its END is refused. */
function findBlock(lines: readonly string[], marks: Omit<MarkedBlock, "text">, what: string) {
  const from = lines.findIndex((l) => l.startsWith(marks.begin));
  if (from < 0) return null;
  const to = lines.findIndex((l, i) => i > from && l.startsWith(marks.end));
  if (to < 0) {
    // guessing where mapectl's lines end could take the user's with them
    throw new MapectlError(
      "config",
      `${what} has a "${marks.begin}" line without a "${marks.end}" line after it: remove mapectl's lines from it by hand, then run the command again`,
    );
  }
  return { from, to };
}

/** The text with mapectl's block replaced where it stands, or added at the end; every other line kept. */
export function withMarkedBlock(current: string, block: MarkedBlock, what: string): string {
  const lines = current.split("\n");
  const found = findBlock(lines, block, what);
  const own = block.text.replace(/\n$/, "").split("\n");
  if (found !== null) {
    return [...lines.slice(0, found.from), ...own, ...lines.slice(found.to + 1)].join("\n");
  }
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  return `${current}${separator}${block.text}`;
}

/** The text without mapectl's block (as it was before the block was added). */
export function withoutMarkedBlock(text: string, marks: Omit<MarkedBlock, "text">, what: string): string {
  const lines = text.split("\n");
  const found = findBlock(lines, marks, what);
  if (found === null) return text;
  return [...lines.slice(0, found.from), ...lines.slice(found.to + 1)].join("\n");
}
