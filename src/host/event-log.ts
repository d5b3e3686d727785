import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One decision of the daemon, as logged to the journal and shown by status and the web page. */
export interface DaemonEvent {
  readonly at: string;
  readonly level: "info" | "warning" | "error";
  readonly message: string;
}

const KEEP = 50;

export function runDir(): string {
  return process.env.MAPECTL_RUN_DIR ?? "/run/mapectl";
}

function eventsPath(): string {
  return join(runDir(), "events.json");
}

export function readEvents(): DaemonEvent[] {
  try {
    const list = JSON.parse(readFileSync(eventsPath(), "utf8")) as unknown;
    return Array.isArray(list) ? (list as DaemonEvent[]) : [];
  } catch {
    return [];
  }
}

/** The last events, for other processes (status, serve); written atomically. */
export function writeEvents(events: readonly DaemonEvent[]): void {
  mkdirSync(runDir(), { recursive: true });
  const tmp = `${eventsPath()}.tmp`;
  writeFileSync(tmp, JSON.stringify(events.slice(-KEEP)));
  renameSync(tmp, eventsPath());
}

const PRIORITY = { error: 3, warning: 4, info: 6 } as const;

/** One line per event; under systemd with an sd-daemon priority prefix so journald files it right. */
export function logLine(event: DaemonEvent): void {
  const underJournal = process.env.JOURNAL_STREAM !== undefined;
  process.stderr.write(
    underJournal
      ? `<${PRIORITY[event.level]}>${event.message}\n`
      : `${event.at} ${event.level}: ${event.message}\n`,
  );
}
