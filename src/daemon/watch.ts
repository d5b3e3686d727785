import type { CommandRunner } from "../host/command-runner.ts";
import { logLine, writeEvents, type DaemonEvent } from "../host/event-log.ts";
import { LinkMonitor } from "../host/link-monitor.ts";
import { HostNotReady } from "../plan/desired.ts";
import type { MapePlan } from "../plan/plan.ts";
import { portUsage } from "../plan/port-usage.ts";
import type { Settings } from "../plan/settings.ts";
import type { RuleTable } from "../rules/table.ts";
import { converge, withdraw } from "./converge.ts";
import { cachingResolver, MapeDisabled, parameterResolver } from "./parameter-sources.ts";
import { readFlows } from "./status-report.ts";

export interface WatchOptions {
  /** Quiet time after the last netlink event before re-reading the host. */
  readonly debounceMs: number;
  /** Re-check even without events (self-healing, and a WAN that came back without events). */
  readonly periodicMs: number;
  readonly portCheckMs: number;
  /** Share of the port set in use that makes the daemon warn. */
  readonly portWarnRatio: number;
  readonly nodad: boolean;
  /** Upper bound for waiting after the network disabled MAP-E (the spec says 1–3 h). */
  readonly disabledRetryMaxSeconds: number;
}

export const DEFAULT_WATCH: WatchOptions = {
  debounceMs: 150,
  periodicMs: 60_000,
  portCheckMs: 30_000,
  portWarnRatio: 0.8,
  nodad: true,
  disabledRetryMaxSeconds: 3 * 3600,
};

export type LoadConfig = () => { settings: Settings; table: RuleTable };

/**
 * The daemon: converge at start, then on every change of addresses, routes or links (debounced),
 * on SIGHUP with the reloaded configuration, and periodically. Runs one converge at a time; a
 * trigger during a run schedules exactly one more. Never leaves a half-applied state: converge is
 * all or nothing.
 */
export class Watcher {
  private readonly events: DaemonEvent[] = [];
  private config: ReturnType<LoadConfig>;
  private resolver: ReturnType<typeof cachingResolver>;
  private monitor: LinkMonitor | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private portTimer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private running = false;
  private pending: string | null = null;
  private failures = 0;
  private lastPlan: MapePlan | null = null;
  private stopping = false;
  /** After a failed apply (rolled back), netlink events are our own undo: ignore them until the retry. */
  private quietUntil = 0;
  private idle: (() => void) | null = null;
  private readonly load: LoadConfig;
  private readonly runner: CommandRunner;
  private readonly options: WatchOptions;

  constructor(load: LoadConfig, runner: CommandRunner, options: WatchOptions) {
    this.load = load;
    this.runner = runner;
    this.options = options;
    this.config = load();
    this.resolver = cachingResolver(parameterResolver(this.config.settings, this.config.table));
  }

  log(level: DaemonEvent["level"], message: string): void {
    const event = { at: new Date().toISOString(), level, message };
    logLine(event);
    this.events.push(event);
    if (this.events.length > 50) this.events.splice(0, this.events.length - 50);
    try {
      writeEvents(this.events);
    } catch {
      // the journal still has it; /run may be read-only in a rehearsal
    }
  }

  start(): void {
    this.log("info", "mapectl watch starting");
    this.monitor = new LinkMonitor(
      () => {
        this.trigger("netlink change");
      },
      (why) => {
        if (this.stopping) return;
        this.log("warning", `${why}; restarting it`);
        setTimeout(() => this.monitor?.start(), 1000).unref();
      },
    );
    this.monitor.start();
    this.periodic = setInterval(() => {
      this.trigger("periodic check");
    }, this.options.periodicMs);
    this.portTimer = setInterval(() => void this.checkPorts(), this.options.portCheckMs);
    void this.run("start");
  }

  /** Debounced: bursts of netlink events (a prefix change is a dozen) become one converge. */
  trigger(reason: string): void {
    if (this.stopping || this.quiet(reason)) return;
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      if (!this.quiet(reason)) void this.run(reason);
    }, this.options.debounceMs);
  }

  private quiet(reason: string): boolean {
    return reason === "netlink change" && Date.now() < this.quietUntil;
  }

  reload(): void {
    try {
      this.config = this.load();
      this.resolver = cachingResolver(parameterResolver(this.config.settings, this.config.table));
      this.log("info", "configuration reloaded (SIGHUP)");
      void this.run("configuration reloaded");
    } catch (err) {
      this.log("error", `configuration not reloaded, keeping the old one: ${(err as Error).message}`);
    }
  }

  private async run(reason: string): Promise<void> {
    if (this.running) {
      this.pending = reason;
      return;
    }
    this.running = true;
    try {
      const result = await converge(
        this.config.settings,
        this.config.table,
        this.runner,
        { nodad: this.options.nodad, dryRun: false },
        this.resolver,
      );
      this.failures = 0;
      this.quietUntil = 0;
      const before = this.lastPlan;
      this.lastPlan = result.plan;
      if (result.changed) {
        const what = result.actions.map((a) => a.id).join(", ");
        const moved =
          before !== null && before.ceAddress !== result.plan.ceAddress
            ? ` (prefix changed: now ${result.prefixFrom})`
            : "";
        this.log(
          "info",
          `${reason}: applied ${what}${moved}; parameters from ${result.source}; IPv4 ${result.plan.ipv4Address} PSID ${String(result.plan.parameters.psid)} via BR ${result.plan.br}`,
        );
      } else if (reason === "start" || reason === "configuration reloaded") {
        this.log("info", `${reason}: MAP-E already up as planned (IPv4 ${result.plan.ipv4Address})`);
      }
    } catch (err) {
      this.failures++;
      const message = (err as Error).message;
      const waitMs = Math.min(60_000, 1000 * 2 ** Math.min(this.failures, 6));
      if (err instanceof HostNotReady) {
        this.log("warning", `${reason}: waiting: ${message}`);
      } else if (err instanceof MapeDisabled) {
        // The network says this line has no MAP-E: take ours down and ask again later (HB46PP §3.6).
        const removed = await withdraw(this.runner).catch((e: unknown) => {
          this.log("error", `could not remove MAP-E: ${(e as Error).message}`);
          return [];
        });
        this.lastPlan = null;
        const retryS = Math.min(err.retryAfterSeconds ?? 3600, this.options.disabledRetryMaxSeconds);
        this.log(
          "warning",
          `${reason}: MAP-E disabled: ${message}${removed.length > 0 ? "; removed the tunnel and NAT" : ""}; asking again in ${retryS} s`,
        );
        this.quietUntil = Date.now() + retryS * 1000;
        if (this.retry !== null) clearTimeout(this.retry);
        this.retry = setTimeout(() => {
          this.retry = null;
          this.quietUntil = 0;
          this.resolver.invalidate();
          this.trigger("retry");
        }, retryS * 1000);
        return;
      } else {
        // the rollback's own netlink events must not trigger the next attempt
        this.quietUntil = Date.now() + waitMs;
        this.log(
          "error",
          `${reason}: not applied (host unchanged): ${message}; retrying in ${Math.round(waitMs / 1000)} s`,
        );
      }
      if (this.retry !== null) clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        this.retry = null;
        this.quietUntil = 0;
        this.trigger("retry");
      }, waitMs);
    } finally {
      this.running = false;
      if (this.pending !== null && this.quiet(this.pending)) this.pending = null;
      if (this.pending !== null && !this.stopping) {
        const next = this.pending;
        this.pending = null;
        void this.run(next);
      } else if (this.idle !== null) {
        this.idle();
      }
    }
  }

  private async checkPorts(): Promise<void> {
    const plan = this.lastPlan;
    if (plan === null) return;
    const flows = await readFlows(this.runner, plan.ipv4Address);
    if (flows === null) return;
    const usage = portUsage(flows, plan.portSets, plan.portCount);
    if (usage.total < plan.portCount * this.options.portWarnRatio) return;
    const byHost = new Map<string, number>();
    for (const f of flows) byHost.set(f.insideSource, (byHost.get(f.insideSource) ?? 0) + 1);
    const top = [...byHost.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([h, n]) => `${h} (${n})`)
      .join(", ");
    this.log("warning", `NAT ports ${usage.total} of ${plan.portCount} in use; busiest inside hosts: ${top}`);
  }

  /** Stops watching; the MAP-E path stays up so a restart does not drop connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.monitor?.stop();
    for (const t of [this.debounce, this.retry]) if (t !== null) clearTimeout(t);
    if (this.periodic !== null) clearInterval(this.periodic);
    if (this.portTimer !== null) clearInterval(this.portTimer);
    if (this.running) await new Promise<void>((resolve) => (this.idle = resolve));
    this.log("info", "mapectl watch stopped; the MAP-E path is left up");
  }
}
