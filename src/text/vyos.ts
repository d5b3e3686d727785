import { hasLineBreakers, oneLine, UnsafeValueError } from "./one-line.ts";
import { shellQuote } from "./shell.ts";

/**
 * A word of a VyOS `set` line. Configure mode reads the pasted text line by line with bash's
 * quoting, so a word is quoted as for the shell and refused when it would span lines.
 */
export function vyosWord(word: string): string {
  if (word === "" || hasLineBreakers(word)) {
    throw new UnsafeValueError("a VyOS set command", "value", word, "it is empty or spans lines");
  }
  return shellQuote(word);
}

export function vyosSet(...words: string[]): string {
  return `set ${words.map(vyosWord).join(" ")}`;
}

/** A `#` line, which configure mode ignores; nothing in `text` can start a command. */
export function vyosComment(text: string): string {
  return `# ${oneLine(text)}`;
}
