/** `ip -j`/`nft -j` output as an array (a single object becomes one element; nothing, none). */
export function parseJson(text: string, what: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  try {
    const value: unknown = JSON.parse(trimmed);
    return Array.isArray(value) ? value : [value];
  } catch {
    throw new Error(`${what}: not JSON: ${trimmed.slice(0, 200)}`);
  }
}

/** A log of one JSON object per line (the inet servers' records, the HB46PP server's requests). */
export function parseJsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}
