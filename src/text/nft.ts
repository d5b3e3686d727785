import { oneLine, UnsafeValueError } from "./one-line.ts";

/**
 * A double-quoted nft string (an interface name, a comment): nft has no escape for `"` inside one,
 * so only printable ASCII without quotes and backslashes is let through.
 */
export function nftString(value: string, what = "string"): string {
  if (!/^[\x20-\x7e]*$/.test(value) || /["\\]/.test(value)) {
    throw new UnsafeValueError(
      "an nft script",
      what,
      value,
      "only printable ASCII without quotes fits an nft string",
    );
  }
  return `"${value}"`;
}

/** A `#` line of an nft script; nothing in `text` can end the comment. */
export function nftComment(text: string): string {
  return `# ${oneLine(text)}`;
}
