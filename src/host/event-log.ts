import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Method } from "../plan/method.ts";
import { logText } from "../text/log-line.ts";
import { oneLine } from "../text/one-line.ts";

/** One decision of the daemon, as logged to the journal and shown by status and the web page. */
export interface DaemonEvent {
  readonly at: string;
  readonly level: "info" | "warning" | "error";
  readonly message: string;
  /** The line's method when the event is about the plan (applied, unchanged, stale); else absent. */
  readonly method?: Method;
}

const KEEP = 50;

/** An event now; `method` when it is about the line's plan. */
export function daemonEvent(level: DaemonEvent["level"], message: string, method?: Method): DaemonEvent {
  const at = new Date().toISOString();
  return method === undefined ? { at, level, message } : { at, level, message, method };
}

export function runDir(): string {
  return process.env.MAPECTL_RUN_DIR ?? "/run/mapectl";
}

function eventsPath(): string {
  return join(runDir(), "events.json");
}

/** The event as it may be shown: its message on one line, whatever a server put into it. */
function oneLineEvent(event: DaemonEvent): DaemonEvent {
  return { ...event, message: logText(event.message) };
}

export function readEvents(): DaemonEvent[] {
  try {
    const list = JSON.parse(readFileSync(eventsPath(), "utf8")) as unknown;
    if (!Array.isArray(list)) return [];
    // Already escaped when written; a file of an older version may still hold a raw line break.
    return (list as DaemonEvent[]).map((e) =>
      typeof e.message === "string" ? { ...e, message: oneLine(e.message) } : e,
    );
  } catch {
    return [];
  }
}

/** The last events, for other processes (status, serve); written atomically. */
export function writeEvents(events: readonly DaemonEvent[]): void {
  mkdirSync(runDir(), { recursive: true });
  const tmp = `${eventsPath()}.tmp`;
  writeFileSync(tmp, JSON.stringify(events.slice(-KEEP).map(oneLineEvent)));
  renameSync(tmp, eventsPath());
}

const PRIORITY = { error: 3, warning: 4, info: 6 } as const;

/**
 * The text of one event's line; under systemd with an sd-daemon priority prefix so journald files it
 * right. The message may quote a server, so it passes the log-line escaper and stays one line.
 */
export function formatLogLine(event: DaemonEvent, underJournal: boolean): string {
  const message = logText(event.message);
  return underJournal
    ? `<${PRIORITY[event.level]}>${message}\n`
    : `${logText(event.at)} ${event.level}: ${message}\n`;
}

export function logLine(event: DaemonEvent): void {
  process.stderr.write(formatLogLine(event, process.env.JOURNAL_STREAM !== undefined));
}
