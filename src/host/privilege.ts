import { HostError } from "./errors.ts";

/** True when this process runs as root (or on a platform without user ids, where it cannot tell). */
export function isRoot(): boolean {
  return typeof process.getuid !== "function" || process.getuid() === 0;
}

/** Throws NOT_ROOT with `message`, which says what needs root and how to run the command instead. */
export function requireRoot(message: string): void {
  if (!isRoot()) throw new HostError("NOT_ROOT", message);
}
