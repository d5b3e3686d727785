import type { NamespaceSnapshot } from "../../lab/lab.ts";

const VOLATILE = new Set([
  "stats64",
  "stats",
  "valid_life_time",
  "preferred_life_time",
  "expires",
  "handle",
  "packets",
  "bytes",
  "used",
  "updated",
]);

/** A namespace snapshot without counters and timers, for "exactly as before" comparisons. */
export function stableState(snap: NamespaceSnapshot): string {
  const strip = (value: unknown) =>
    JSON.stringify(value, (key: string, v: unknown) => (VOLATILE.has(key) ? undefined : v));
  return [snap.links, snap.addresses, snap.routes4, snap.routes6, snap.rules4, snap.rules6, snap.nft]
    .map(strip)
    .join("\n");
}
