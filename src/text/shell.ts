import { hasLineBreakers, oneLine, UnsafeValueError } from "./one-line.ts";

const PLAIN_WORD = /^[A-Za-z0-9_./:=@,+%^-]+$/;

/** One word for a POSIX shell: as it is when nothing in it is special, else in single quotes. */
export function shellQuote(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  if (word.includes("\0")) throw new UnsafeValueError("a shell script", "word", word, "it contains NUL");
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A word for a line-oriented script: quoted as shellQuote does, and refused when it holds a line
 * breaker, which a quoted word could carry but a reader of the script would take for a new line.
 */
export function shellLineWord(word: string): string {
  if (hasLineBreakers(word)) {
    throw new UnsafeValueError(
      "a shell script",
      "word",
      word,
      "it contains a line break or control character",
    );
  }
  return shellQuote(word);
}

/** One `#` comment line; nothing in `text` can end the comment and start a command. */
export function shellComment(text: string, indent = ""): string {
  return `${indent}# ${oneLine(text)}`;
}
