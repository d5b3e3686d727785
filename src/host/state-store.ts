import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AppliedState } from "../plan/reconcile.ts";
import { HostError } from "./errors.ts";

/** /var/lib/mapectl unless MAPECTL_STATE_DIR says otherwise (tests, rehearsals). */
export function stateDir(): string {
  return process.env.MAPECTL_STATE_DIR ?? "/var/lib/mapectl";
}

function statePath(): string {
  return join(stateDir(), "state.json");
}

export function loadState(): AppliedState | null {
  let text: string;
  try {
    text = readFileSync(statePath(), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new HostError("FILE_UNREADABLE", `cannot read ${statePath()}: ${(err as Error).message}`);
  }
  try {
    const state = JSON.parse(text) as { schemaVersion?: unknown };
    if (state.schemaVersion !== SCHEMA_VERSION) throw new Error("unknown schemaVersion");
    return state as AppliedState;
  } catch (err) {
    throw new HostError(
      "FILE_UNREADABLE",
      `${statePath()} is damaged (${(err as Error).message}); move it away and run mapectl up again`,
    );
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a state file. */
export function saveState(state: AppliedState): void {
  mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
  const tmp = `${statePath()}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, statePath());
}

export function clearState(): void {
  rmSync(statePath(), { force: true });
}
