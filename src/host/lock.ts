import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { HostRefusal } from "./host-refusal.ts";
import { stateDir } from "./state-store.ts";

/** Who holds the lock: enough to tell a live holder from a dead one whose PID was reused. */
export interface LockHolder {
  readonly pid: number;
  readonly command: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat), null where unknown. */
  readonly startTime: string | null;
}

/** Beside the state it guards, so each MAPECTL_STATE_DIR (tests, rehearsals) has its own. */
export function lockPath(): string {
  return join(stateDir(), "lock");
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name in parentheses may hold spaces; the fields after it are fixed
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTimeOf(holder.pid);
  return holder.startTime === null || now === null || now === holder.startTime;
}

function readHolder(path: string): LockHolder | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    const doc = JSON.parse(text) as Partial<LockHolder>;
    if (typeof doc.pid !== "number" || !Number.isInteger(doc.pid) || doc.pid <= 0) return null;
    return {
      pid: doc.pid,
      command: typeof doc.command === "string" ? doc.command : "?",
      startTime: typeof doc.startTime === "string" ? doc.startTime : null,
    };
  } catch {
    return null;
  }
}

/** Creates the lock file, never through a symbolic link; false when it exists. */
function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new HostRefusal(`cannot create the lock ${path}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function heldMessage(path: string, holder: LockHolder): string {
  const who = holder.command === "watch" ? "the daemon (mapectl watch)" : `mapectl ${holder.command}`;
  return `another mapectl is changing this host: ${who}, pid ${holder.pid}, holds ${path}; wait for it to finish${holder.command === "watch" ? " or stop it (systemctl stop mapectl)" : ""} and run this again`;
}

const POLL_MS = 100;

/** An unreadable lock this young may be one whose holder has not finished writing it. */
function justCreated(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 2000;
  } catch {
    return false;
  }
}

/**
 * Runs fn while holding mapectl's lock, so `up`, `down` and the daemon never change the host or
 * its state file at the same time. A lock whose holder is dead (its PID gone, or reused by a
 * process that started later) is taken over. Waits up to waitMs for a live holder, then refuses
 * naming it. Re-entrant within one process (the daemon's --down-on-exit runs down).
 */
export async function withHostLock<T>(command: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const path = lockPath();
  mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
  const me: LockHolder = { pid: process.pid, command, startTime: startTimeOf(process.pid) };
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (tryCreate(path, me)) break;
    const holder = readHolder(path);
    if (holder?.pid === process.pid) return fn();
    if ((holder === null && !justCreated(path)) || (holder !== null && !isAlive(holder))) {
      // Stale, or half written by a holder that died creating it.
      try {
        unlinkSync(path);
      } catch {
        // another process took it over first; the next round sees its lock
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new HostRefusal(
        holder === null
          ? `another mapectl is just taking ${path}; run this again in a moment`
          : heldMessage(path, holder),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    if (readHolder(path)?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // gone already: nothing to release
      }
    }
  }
}
