import { oneLine } from "./one-line.ts";

/**
 * A TOML basic string. JSON's string escapes (\", \\, \n, \uXXXX for every control character) are
 * all TOML escapes too, so the value reads back exactly and can never end the line.
 */
export function tomlString(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The text of a `#` comment: nothing in it can start a key of its own. */
export function tomlComment(text: string): string {
  return oneLine(text);
}
