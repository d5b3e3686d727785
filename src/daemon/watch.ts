import { bootTableNote } from "../host/boot-table.ts";
import type { CommandRunner } from "../host/command-runner.ts";
import { daemonEvent, type DaemonEvent } from "../host/event-log.ts";
import { HostNotReady } from "../plan/desired.ts";
import { isMapePlan, planMethod, type Method, type Plan } from "../plan/method.ts";
import { planParts } from "../plan/plan-parts.ts";
import type { Settings } from "../plan/settings.ts";
import type { RuleTable } from "../rules/table.ts";
import { vyosDriftNote, type ConvergeResult } from "./converge.ts";
import { hostLimitWarning, hostsAtLimit, portWarning } from "./port-warning.ts";
import { HOST_DEPS, type WatchDeps } from "./watch-host-deps.ts";
import { convergedLine } from "./watch-report.ts";
import { IpipUpdateTimer } from "./ipip-update-timer.ts";
import type { WatchOptions } from "./watch-options.ts";
import {
  isMapeDisabled,
  QueryInterrupted,
  type CachingResolver,
  type MapeDisabled,
} from "./parameter-sources.ts";

export { DEFAULT_WATCH, type WatchOptions } from "./watch-options.ts";
export { portWarning };
export type { WatchDeps };

export type LoadConfig = () => { settings: Settings; table: RuleTable };

/**
 * The daemon: converge at start, then on every change of addresses, routes or links (debounced),
 * on SIGHUP with the reloaded configuration, when the provisioning answer's TTL runs out, and
 * periodically. Runs one converge at a time; a trigger during a run schedules exactly one more.
 * Never leaves a half-applied state: converge is all or nothing. Logs decisions, not repetitions:
 * the same "waiting" or "disabled" verdict is logged once until something changes.
 */
export class Watcher {
  private readonly events: DaemonEvent[] = [];
  private config: ReturnType<LoadConfig>;
  private resolver: CachingResolver;
  private monitor: ReturnType<WatchDeps["monitor"]> | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private portTimer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private requery: NodeJS.Timeout | null = null;
  private running = false;
  private pending: string | null = null;
  private failures = 0;
  private lastPlan: Plan | null = null;
  private stopping = false;
  /** After a failed apply (rolled back), netlink events are our own undo: ignore them until the retry. */
  private quietUntil = 0;
  /** The reason of the debounced round not yet started. */
  private debounceReason: string | null = null;
  private idle: (() => void) | null = null;
  /** The last verdict that is logged once while it holds (waiting, disabled, stale parameters). */
  private standing: string | null = null;
  private portsWarned = false;
  /** Hosts the daemon has said are at their per-host limit, until they drop under it. */
  private hostsAtLimit = new Set<string>();
  /** The VyOS drift last reported, so the same one is not logged on every trigger. */
  private drift = "";
  /** The provisioning notice last reported (e.g. a DS-Lite-only answer), said once while it holds. */
  private notice = "";
  private bootFailure: string | null = null;
  /** IPIP: wakes the daemon when the provider's update URL is due again. */
  private readonly ipipUpdate = new IpipUpdateTimer(
    (reason) => {
      this.trigger(reason);
    },
    (level, message) => {
      this.log(level, message);
    },
  );
  private readonly load: LoadConfig;
  private readonly runner: CommandRunner;
  private readonly options: WatchOptions;
  private readonly deps: WatchDeps;

  constructor(load: LoadConfig, runner: CommandRunner, options: WatchOptions, deps: Partial<WatchDeps> = {}) {
    this.load = load;
    this.runner = runner;
    this.options = options;
    this.deps = { ...HOST_DEPS, ...deps };
    this.config = load();
    this.resolver = this.deps.makeResolver(
      this.config.settings,
      this.config.table,
      this.options.disabledRetryMaxSeconds,
    );
  }

  log(level: DaemonEvent["level"], message: string, method?: Method): void {
    const event = daemonEvent(level, message, method);
    this.events.push(event);
    if (this.events.length > 50) this.events.splice(0, this.events.length - 50);
    this.deps.emit(event, this.events);
  }

  /** Logs a verdict that stands until something changes, once. */
  private logOnce(level: DaemonEvent["level"], key: string, message: string, method?: Method): void {
    if (this.standing === key) return;
    this.standing = key;
    this.log(level, message, method);
  }

  start(): void {
    // How long the process took to get here (loading the executable and its code) is part of
    // every boot's time to IPv4: said once, so the journal shows it.
    this.log(
      "info",
      `mapectl watch starting (${Math.round(process.uptime() * 1000)} ms after the process started)`,
    );
    this.monitor = this.deps.monitor(
      () => {
        this.trigger("netlink change");
      },
      (why) => {
        if (this.stopping) return;
        this.log("warning", `${why}; restarting it`);
        // SIGTERM reaches ip monitor too (same process group): a restart then would outlive stop()
        setTimeout(() => {
          if (!this.stopping) this.monitor?.start();
        }, 1000).unref();
      },
    );
    this.monitor.start();
    this.periodic = setInterval(() => {
      this.trigger("periodic check");
    }, this.options.periodicMs);
    this.portTimer = setInterval(() => void this.checkPorts(), this.options.portCheckMs);
    void this.run("start");
  }

  /**
   * Debounced: bursts of netlink events (a prefix change is a dozen) become one converge. Not
   * started on the first event: when a line reconnects, the first events are the old delegation
   * going, and a converge in the middle of that would see a half-removed prefix.
   */
  trigger(reason: string): void {
    if (this.stopping || this.quiet(reason)) return;
    const kept = joinReasons(this.debounceReason, reason);
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounceReason = kept;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.debounceReason = null;
      if (!this.quiet(kept)) void this.run(kept);
    }, this.options.debounceMs);
  }

  private quiet(reason: string): boolean {
    return reason === "netlink change" && Date.now() < this.quietUntil;
  }

  reload(): void {
    try {
      this.config = this.load();
      this.resolver = this.deps.makeResolver(
        this.config.settings,
        this.config.table,
        this.options.disabledRetryMaxSeconds,
      );
      this.standing = null;
      this.log("info", "configuration reloaded (SIGHUP); asking for parameters again");
      void this.run("configuration reloaded");
    } catch (err) {
      this.log("error", `configuration not reloaded, keeping the old one: ${(err as Error).message}`);
    }
  }

  private scheduleRetry(waitMs: number): void {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.quietUntil = 0;
      this.trigger("retry");
    }, waitMs);
  }

  /**
   * Wakes up when the provisioning answer's TTL (or a refusal's retry window) runs out: nothing
   * else would happen then, as no link or address changes. Only for a time still ahead: a cache
   * already out of date is asked again by the next converge anyway.
   */
  private scheduleRequery(): void {
    if (this.requery !== null) clearTimeout(this.requery);
    this.requery = null;
    const next = this.resolver.nextQueryAt();
    if (next === null || this.stopping) return;
    const waitMs = next.at - Date.now();
    if (waitMs <= 0) return;
    this.requery = setTimeout(
      () => {
        this.requery = null;
        this.trigger(next.why === "ttl" ? "provisioning TTL expired" : "provisioning retry due");
      },
      // setTimeout's limit is about 24.8 days; a later expiry is then checked again on waking
      Math.min(waitMs + 50, 2 ** 31 - 1),
    );
  }

  private async run(reason: string): Promise<void> {
    if (this.running) {
      this.pending = joinReasons(this.pending, reason);
      // A new prefix must not wait for a provisioning server still answering the old one.
      if (reason === "netlink change") this.resolver.interrupt("the host changed during the query");
      return;
    }
    this.running = true;
    try {
      await this.round(reason);
    } catch (err) {
      if (err instanceof QueryInterrupted) {
        this.log("info", `${reason}: provisioning query given up: ${err.message}; asking again`);
        return;
      }
      await this.failed(reason, err);
    } finally {
      this.running = false;
      this.scheduleRequery();
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

  /** One converge, and what of its result is news. */
  private async round(reason: string): Promise<void> {
    const queriesBefore = this.resolver.queries();
    const started = Date.now();
    const result = await this.deps.converge(
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
    const recovered = this.standing !== null && result.stale === null;
    if (result.stale === null) this.standing = null;
    // tables and manual rules never change by themselves: their renewals are not news
    const asked =
      this.resolver.queries() > queriesBefore && result.source !== "tables" && result.source !== "manual";
    const line = convergedLine(reason, result, {
      before,
      tookMs: Date.now() - started,
      asked,
      recovered,
      next: this.resolver.nextQueryAt(),
    });
    if (line !== null) this.log("info", line, planMethod(result.plan));
    this.reportDrift(result);
    const notice = result.notice ?? "";
    if (notice !== this.notice && notice !== "") this.log("warning", `${reason}: provisioning: ${notice}`);
    this.notice = notice;
    this.reportBootTable(result);
    this.ipipUpdate.follow(result, reason);
    if (result.stale !== null) {
      this.logOnce(
        "warning",
        `stale ${result.stale}`,
        `${reason}: asking for parameters failed: ${result.stale}`,
        planMethod(result.plan),
      );
    }
  }

  /** A round that failed: wait for the host, the network's verdict, or retry with back-off. */
  private async failed(reason: string, err: unknown): Promise<void> {
    this.failures++;
    const message = (err as Error).message;
    const waitMs = Math.min(60_000, 1000 * 2 ** Math.min(this.failures, 6));
    if (err instanceof HostNotReady) {
      this.logOnce("warning", `waiting ${message}`, `${reason}: waiting: ${message}`);
      this.scheduleRetry(waitMs);
    } else if (isMapeDisabled(err)) {
      await this.disabled(reason, err);
    } else {
      // the rollback's own netlink events must not trigger the next attempt
      this.quietUntil = Date.now() + waitMs;
      this.standing = null;
      this.log(
        "error",
        `${reason}: not applied (host unchanged): ${message}; retrying in ${Math.round(waitMs / 1000)} s`,
      );
      this.scheduleRetry(waitMs);
    }
  }

  /**
   * The resolver keeps this verdict until its retry time, which the requery timer wakes up for;
   * netlink events still count, since a new prefix is a new question (HB46PP §3.6 k).
   */
  private async disabled(reason: string, err: MapeDisabled): Promise<void> {
    const message = err.message;
    const next = this.resolver.nextQueryAt();
    const retryS = Math.round(
      next === null
        ? Math.min(err.retryAfterSeconds ?? 3600, this.options.disabledRetryMaxSeconds)
        : (next.at - Date.now()) / 1000,
    );
    if (err.byNetwork) {
      // The network says this line has no MAP-E: take ours down (HB46PP §3.6 c.2).
      const removed = await this.deps.withdraw(this.runner).catch((e: unknown) => {
        this.log("error", `could not remove MAP-E: ${(e as Error).message}`);
        return [];
      });
      this.lastPlan = null;
      if (removed.length > 0) this.standing = null;
      this.logOnce(
        "warning",
        `disabled ${message}`,
        `${reason}: MAP-E disabled by the network: ${message}${removed.length > 0 ? "; removed the tunnel, CE address and NAT" : ""}; asking again in ${retryS} s`,
      );
    } else {
      // nothing was changed and nothing failed to apply: the path keeps running as it is
      this.logOnce(
        "warning",
        `unresolved ${message}`,
        `${reason}: ${message}; MAP-E left as it is; asking again in ${retryS} s`,
      );
    }
  }

  /** A rewritten boot table once per change; a failure to write it once until it is written. */
  private reportBootTable(result: ConvergeResult): void {
    const note = bootTableNote(result.bootTable ?? null);
    const failed = result.bootTable?.action === "failed";
    if (note !== null && !(failed && note === this.bootFailure)) this.log(failed ? "warning" : "info", note);
    this.bootFailure = failed ? note : null;
  }

  /**
   * A VyOS-owned tunnel: the daemon has loaded the NAPT for the new prefix; the tunnel, CE address
   * and IPv4 address are VyOS's configuration to change, so it says what differs and where the
   * commands for it come from.
   */
  private reportDrift(result: ConvergeResult): void {
    const text = result.vyosDrift.join("; ");
    if (text === this.drift) return;
    this.drift = text;
    if (text === "") {
      this.log(
        "info",
        `VyOS's configuration matches the plan again (IPv4 ${planParts(result.plan).tunnelIpv4.address})`,
      );
      return;
    }
    this.log("warning", vyosDriftNote(result.vyosDrift));
  }

  private async checkPorts(): Promise<void> {
    const plan = this.lastPlan;
    // only MAP-E's ports are the router's to count (DS-Lite's NAT is the AFTR's)
    if (plan === null || !isMapePlan(plan)) return;
    const flows = await this.deps.readFlows(this.runner, plan.ipv4Address);
    if (flows === null) return;
    const warning = portWarning(flows, plan.portCount, this.options.portWarnRatio);
    if (warning !== null && !this.portsWarned) this.log("warning", warning);
    else if (warning === null && this.portsWarned)
      this.log(
        "info",
        `NAT ports back under ${Math.round(this.options.portWarnRatio * 100)}% towards every destination`,
      );
    this.portsWarned = warning !== null;
    const limit = plan.maxPortsPerHost ?? null;
    const atLimit = new Set(hostsAtLimit(flows, limit));
    for (const host of atLimit)
      if (limit !== null && !this.hostsAtLimit.has(host)) this.log("warning", hostLimitWarning(host, limit));
    this.hostsAtLimit = atLimit;
  }

  /** Stops watching; the MAP-E path stays up so a restart does not drop connections (unless the caller takes it down). */
  async stop(leaveUp = true): Promise<void> {
    this.stopping = true;
    this.monitor?.stop();
    for (const t of [this.debounce, this.retry, this.requery]) if (t !== null) clearTimeout(t);
    this.ipipUpdate.stop();
    if (this.periodic !== null) clearInterval(this.periodic);
    if (this.portTimer !== null) clearInterval(this.portTimer);
    if (this.running) await new Promise<void>((resolve) => (this.idle = resolve));
    const how = leaveUp ? "stopped; the MAP-E path is left up" : "stopping; taking MAP-E down";
    this.log("info", `mapectl watch ${how}`);
  }
}

/**
 * One round for two reasons: a timer's (the IPIP update, a provisioning TTL, a retry) names the
 * round, and a netlink event in the same window joins it rather than renaming it. Renamed, the
 * round's lines said "netlink change" for the timer's work, and a netlink change during the quiet
 * time after a failed round was dropped together with the timer's wake it had replaced.
 */
function joinReasons(waiting: string | null, reason: string): string {
  return waiting !== null && reason === "netlink change" ? waiting : reason;
}
