import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseAppliedState } from "../plan/applied-state.ts";
import type { AppliedState } from "../plan/reconcile.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { HostError } from "./errors.ts";
import { HostRefusal } from "./host-refusal.ts";

/** /var/lib/mapectl unless MAPECTL_STATE_DIR says otherwise (tests, rehearsals). */
export function stateDir(): string {
  return process.env.MAPECTL_STATE_DIR ?? "/var/lib/mapectl";
}

export function statePath(): string {
  return join(stateDir(), "state.json");
}

/** What `down --force-owned` does, named wherever a damaged state stops a command. */
export const FORCE_OWNED_HINT =
  "run mapectl down --force-owned to remove only what is provably mapectl's (its nft table, its proto 77 routes, its tunnel), then mapectl up";

export function loadState(): AppliedState | null {
  let text: string;
  try {
    text = readFileSync(statePath(), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new HostError("FILE_UNREADABLE", `cannot read ${statePath()}: ${(err as Error).message}`);
  }
  const parsed = parseAppliedState(text);
  if (parsed.ok) return parsed.state;
  throw new HostRefusal(
    `${statePath()} is damaged (${parsed.why}), so mapectl cannot tell what it applied: ${FORCE_OWNED_HINT}`,
  );
}

/** Atomic and synced (writeFileAtomic): a crash never leaves half a state file. */
export function saveState(state: AppliedState): void {
  mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
  writeFileAtomic(statePath(), `${JSON.stringify(state, null, 2)}\n`, 0o644);
}

export function clearState(): void {
  rmSync(statePath(), { force: true });
}
