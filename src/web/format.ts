/**
 * Text the web pages and `mapectl ports` share, so a figure reads the same in the terminal and
 * in the browser. Pure: bundled for the browser as well as into the CLI.
 */

/** "5136–5151" for a block, "5136" for a single port. */
export function portRange(first: number, last: number): string {
  return first === last ? `${first}` : `${first}–${last}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Thousands grouped with a thin space, which no locale mistakes for a decimal point. */
export function formatCount(value: number): string {
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Binary units, as `ip -h -s link` shows them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit] ?? "B"}`;
}

/** How full a block or the whole set is, 0 to 1; a port reused towards several destinations can push it past 1. */
export function load(used: number, size: number): number {
  if (size <= 0) return 0;
  return Math.min(used / size, 1);
}

export function percent(fraction: number): string {
  if (fraction > 0 && fraction < 0.01) return "<1%";
  return `${Math.round(fraction * 100)}%`;
}

/** A bar of `width` cells for the terminal: "██████░░░░". */
export function bar(fraction: number, width: number): string {
  const filled = fraction > 0 ? Math.max(1, Math.round(Math.min(fraction, 1) * width)) : 0;
  return "█".repeat(filled) + "░".repeat(width - filled);
}

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago"; the future (clock skew) reads as "just now". */
export function ago(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 2) return "just now";
  if (seconds < 90) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** "udp 30, icmp 1" in the order given, protocols without flows left out; "none" when empty. */
export function protocolList(perProtocol: Readonly<Record<string, number>>): string {
  const parts = Object.entries(perProtocol)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}
