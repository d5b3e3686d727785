// The daemon's reach into the host (converge and withdraw under the host lock, conntrack, netlink,
// the journal), as one object that tests replace.
import { logLine, writeEvents, type DaemonEvent } from "../host/event-log.ts";
import { LinkMonitor } from "../host/link-monitor.ts";
import { withHostLock } from "../host/lock.ts";
import { readNatFlows } from "../host/conntrack.ts";
import type { Settings } from "../plan/settings.ts";
import type { RuleTable } from "../rules/table.ts";
import { converge, withdraw } from "./converge.ts";
import { cachingResolver, parameterResolver, type CachingResolver } from "./parameter-sources.ts";

/** What the daemon needs from the host; tests replace it. */
export interface WatchDeps {
  readonly converge: typeof converge;
  readonly withdraw: typeof withdraw;
  readonly readFlows: typeof readNatFlows;
  readonly monitor: (
    onChange: (line: string) => void,
    onExit: (why: string) => void,
  ) => { start(): void; stop(): void };
  /** Journal line and events file. */
  readonly emit: (event: DaemonEvent, recent: readonly DaemonEvent[]) => void;
  readonly makeResolver: (settings: Settings, table: RuleTable, maxRetrySeconds: number) => CachingResolver;
}

/** `up` or `down` by hand takes seconds; the daemon waits for it rather than failing a round. */
const DAEMON_LOCK_WAIT_MS = 60_000;

export const HOST_DEPS: WatchDeps = {
  converge: (...args) => withHostLock("watch", DAEMON_LOCK_WAIT_MS, () => converge(...args)),
  withdraw: (runner) => withHostLock("watch", DAEMON_LOCK_WAIT_MS, () => withdraw(runner)),
  readFlows: readNatFlows,
  monitor: (onChange, onExit) => new LinkMonitor(onChange, onExit),
  emit: (event, recent) => {
    logLine(event);
    try {
      writeEvents(recent);
    } catch {
      // the journal still has it; /run may be read-only in a rehearsal
    }
  },
  makeResolver: (settings, table, maxRetrySeconds) =>
    cachingResolver(parameterResolver(settings, table), Date.now, { maxRetrySeconds }),
};
