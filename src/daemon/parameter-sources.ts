import { hostProvisionIo } from "../host/provision-io.ts";
import { formatIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { resolveFromSettings } from "../plan/desired.ts";
import type { Settings } from "../plan/settings.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import { DEFAULT_IDENTITY, type CeIdentity } from "../provision/hb46pp.ts";
import { claimedMethods } from "../provision/hb46pp-request.ts";
import { HB46PP_RETRY, retryDelayMs, type RetryWindow } from "../provision/hb46pp-flow.ts";
import { DEFAULT_ORDER, provision, type ProvisionResult, type SourceReport } from "../provision/provision.ts";
import { fileMemoryStore, type Hb46ppMemory, type Hb46ppMemoryStore } from "../host/hb46pp-state.ts";
import type { ParameterSource } from "../provision/parameters.ts";
import { lineMethod } from "../provision/line-method.ts";
import { shippedAftrNames, shippedNotMape } from "../rules/shipped.ts";
import type { RuleTable } from "../rules/table.ts";
import { MapectlError } from "../mape/errors.ts";
import type { AftrParameters } from "../provision/dslite.ts";
import { dsLiteFromSources, dsLiteWithoutNetwork } from "./line-resolution.ts";
import type { IpipParameters } from "../provision/ipip.ts";
import { ipipFromSources, ipipWithoutNetwork } from "./ipip-resolution.ts";

export interface Resolution {
  /** MAP-E's parameters; null when the line's method is DS-Lite (`dsLite` has its AFTR). */
  readonly resolved: ResolvedParameters | null;
  /** The line is DS-Lite: its AFTR (a name is resolved by converge, every time it plans). */
  readonly dsLite?: AftrParameters;
  /** The line is IPIP with a fixed address: its parameters (HB46PP's ipip entry or the sheet's). */
  readonly ipip?: IpipParameters;
  /** How long the network said these parameters hold (HB46PP ttl), in seconds. */
  readonly ttlSeconds: number | null;
  /** When to ask again: the answering source's TTL window, or a passed-over network source's retry. */
  readonly renew?: RetryWindow | null;
  /** Set when asking again failed and these are the last good answer's parameters: why. */
  readonly stale?: string;
  /** What the network said that an operator should see though it changed nothing (a DS-Lite-only answer). */
  readonly notice?: string;
  /** A source preferred over the chosen one failed for a reason that says nothing about the line. */
  readonly fallback?: { readonly why: string; readonly retry: RetryWindow };
}

/** Where a resolution's parameters came from: hb46pp, dhcpv6, tables, manual or configuration. */
export function resolutionSource(resolution: Resolution): string {
  return resolution.dsLite?.from ?? resolution.ipip?.from ?? resolution.resolved?.source ?? "none";
}

/** Where `up` and the daemon get parameters for a prefix: the same sources as `mapectl provision`. */
export type ParameterResolver = (prefix: Ipv6Prefix, wan: string) => Promise<Resolution>;

/**
 * No MAP-E parameters from the sources asked. `byNetwork`: the network said this line has no MAP-E
 * (HB46PP NXDOMAIN, two empty orders in a row, another method this CE claimed), so MAP-E must come
 * down; otherwise no source could be used (server unreachable, DNS error), which says nothing about
 * the line.
 */
export class MapeDisabled extends MapectlError {
  readonly retryAfterSeconds: number | null;
  readonly retry: RetryWindow | null;
  readonly byNetwork: boolean;
  /** `retry`: a window to pick a random wait in, or seconds exactly. */
  constructor(message: string, retry: RetryWindow | number | null, byNetwork = true) {
    super("no-parameters", message);
    this.name = "MapeDisabled";
    this.retry = typeof retry === "number" ? { minSeconds: retry, maxSeconds: retry } : retry;
    this.retryAfterSeconds = this.retry === null ? null : Math.round(this.retry.minSeconds);
    this.byNetwork = byNetwork;
  }
}

export function isMapeDisabled(value: unknown): value is MapeDisabled {
  return value instanceof MapeDisabled;
}

export function sourceOrder(settings: Settings): ParameterSource[] {
  switch (settings.source) {
    case "tables":
    case "manual":
      return [settings.source];
    case "hb46pp":
    case "dhcpv6":
      return [settings.source];
    case "auto":
      return DEFAULT_ORDER.filter((s) => s !== "manual" || settings.rule !== null);
  }
}

/** The CE identity HB46PP sends: the configuration's [hb46pp] over mapectl's defaults. */
export function settingsIdentity(settings: Settings, token: string | null): CeIdentity {
  return {
    ...DEFAULT_IDENTITY,
    capability: claimedMethods(settings.method),
    ...settings.hb46pp,
    ...(token === null ? {} : { token }),
  };
}

/** The memory after a query: the server's new token, and the run of empty orders. */
export function rememberHb46pp(previous: Hb46ppMemory, result: ProvisionResult): Hb46ppMemory {
  const hb = result.sources.find((s) => s.source === "hb46pp");
  if (hb === undefined) return previous;
  const token = typeof hb.details.token === "string" ? hb.details.token : previous.token;
  const order = hb.details.order;
  // Only an answer counts: a failed query neither breaks nor extends a run of empty orders.
  const emptyOrders = Array.isArray(order)
    ? order.length === 0
      ? previous.emptyOrders + 1
      : 0
    : previous.emptyOrders;
  return { token, emptyOrders };
}

export function parameterResolver(
  settings: Settings,
  table: RuleTable,
  memory: Hb46ppMemoryStore = fileMemoryStore(),
): ParameterResolver {
  const order = sourceOrder(settings);
  const offline = order.every((s) => s === "tables" || s === "manual");
  if (offline) {
    return (prefix) => {
      const ipip = ipipWithoutNetwork(settings, order);
      if (ipip !== null) return Promise.resolve({ resolved: null, ipip, ttlSeconds: null });
      const dsLite = dsLiteWithoutNetwork(settings, prefix, table, false);
      if (dsLite !== null) return Promise.resolve({ resolved: null, dsLite: dsLite.aftr, ttlSeconds: null });
      return Promise.resolve({
        resolved: resolveFromSettings(settings, prefix, table, shippedNotMape()),
        ttlSeconds: null,
      });
    };
  }
  return async (prefix, wan) => {
    const sheet = ipipWithoutNetwork(settings, order);
    if (sheet !== null) return { resolved: null, ipip: sheet, ttlSeconds: null };
    const given = dsLiteWithoutNetwork(settings, prefix, table, true);
    if (given !== null) return { resolved: null, dsLite: given.aftr, ttlSeconds: null };
    const io = hostProvisionIo({
      sources: order,
      wan,
      resolvers: settings.resolvers,
      resolversFrom: "the configuration or --resolver",
      caFile: settings.caFile ?? undefined,
    });
    const before = memory.load();
    const result = await provision(
      {
        prefix,
        order,
        table,
        notMape: shippedNotMape(),
        manualRule: settings.rule ?? undefined,
        overrides: Object.keys(settings.overrides).length > 0 ? settings.overrides : undefined,
        interfaceId: settings.interfaceId ?? undefined,
        identity: settingsIdentity(settings, before.token),
        emptyOrderConfirmed: before.emptyOrders >= 1,
      },
      io,
    );
    const after = rememberHb46pp(before, result);
    if (after.token !== before.token || after.emptyOrders !== before.emptyOrders) memory.save(after);
    // which method the line's sources name: asked once, for IPIP and DS-Lite alike
    const line = lineMethod(result.sources, result.prefix, {
      notMape: shippedNotMape(),
      aftrNames: shippedAftrNames(),
    });
    const ipip = ipipFromSources(settings, result, line);
    if (ipip !== null) return { resolved: null, ipip: ipip.params, ttlSeconds: ipip.ttlSeconds };
    const dsLite = dsLiteFromSources(settings, result, line);
    if (dsLite !== null) return { resolved: null, dsLite: dsLite.aftr, ttlSeconds: dsLite.ttlSeconds };
    return resolutionOf(result);
  };
}

/** Failures of a network source that say nothing lasting about the line: the last answer may stand. */
const TRANSIENT = new Set([
  "http-error",
  "dns-error",
  "unknown-ce",
  "bad-reply",
  "bad-record",
  "no-resolver",
  "no-answer",
  "malformed",
]);

function isTransient(report: SourceReport): boolean {
  return TRANSIENT.has(report.status) || (report.status === "no-service" && !report.authoritative);
}

function failureOf(result: ProvisionResult): MapeDisabled {
  const disabled = result.sources.find((s) => s.disableMapE || s.authoritative);
  const prefix = formatIpv6Prefix(result.prefix);
  if (disabled !== undefined) {
    return new MapeDisabled(
      `no MAP-E for ${prefix}: ${disabled.source}: ${disabled.error ?? disabled.status}`,
      disabled.retry,
      true,
    );
  }
  // Retry at the earliest window any source named (spec §3.6: DNS 1–10 min, HTTP 10–30 min).
  const windows = result.sources.flatMap((s) => (s.retry === null ? [] : [s.retry]));
  const earliest = windows.sort((x, y) => x.minSeconds - y.minSeconds)[0] ?? null;
  return new MapeDisabled(
    `no MAP-E parameters for ${prefix}: ${result.reason ?? "no source answered"}`,
    earliest,
    false,
  );
}

/** The resolver's answer from what provision() found: the chosen parameters, or why there are none. */
export function resolutionOf(result: ProvisionResult): Resolution {
  if (result.chosen === null) throw failureOf(result);
  const at = result.sources.findIndex((s) => s.resolved === result.chosen);
  const report = result.sources[at];
  const passed = result.sources.slice(0, Math.max(at, 0));
  const notes = passed
    .filter((s) => s.status === "unclaimed" || s.status === "no-service")
    .map((s) => `${s.source}: ${s.error ?? s.status}`);
  if (report?.source === "hb46pp") notes.push(...report.warnings.map((w) => `hb46pp: ${w}`));
  const transient = passed.find(isTransient);
  const windows = passed.flatMap((s) => (s.retry === null ? [] : [s.retry]));
  const renew = report?.retry ?? windows.sort((x, y) => x.minSeconds - y.minSeconds)[0] ?? null;
  return {
    resolved: result.chosen,
    ttlSeconds: report?.ttl ?? null,
    renew,
    ...(notes.length > 0 ? { notice: notes.join("; ") } : {}),
    ...(transient?.retry == null
      ? {}
      : {
          fallback: {
            why: `${transient.source}: ${transient.error ?? transient.status}`,
            retry: transient.retry,
          },
        }),
  };
}

/** When a failure names no retry window: soon enough to recover, rare enough not to hammer a server. */
const DEFAULT_RETRY: RetryWindow = { minSeconds: 600, maxSeconds: 600 };

/**
 * A query given up because the host changed while it waited (a new prefix): its answer, for the
 * old question, would only delay the converge that asks the new one.
 */
export class QueryInterrupted extends Error {
  override readonly name = "QueryInterrupted";
}

export interface CachingResolver extends ParameterResolver {
  /** Forget everything: the next call asks the network (SIGHUP, an operator's retry). */
  invalidate(): void;
  /**
   * Ends a query in flight at once with QueryInterrupted, caching nothing; the network exchange
   * itself finishes beside under its own deadline, its answer dropped. False: none was in flight.
   */
  interrupt(why: string): boolean;
  /**
   * When the cached answer (ttl) or refusal or stale answer (retry) runs out, so the next call asks
   * the network again; null: nothing cached.
   */
  nextQueryAt(): { readonly at: number; readonly why: "ttl" | "retry" } | null;
  /** How many times the network (or table) was actually asked, for telling a renewal from a cache hit. */
  queries(): number;
}

/** When an answer is asked for again: at its TTL (exactly), or at a random point of the spec's renewal window. */
function renewDelayMs(resolution: Resolution, random: () => number): number {
  const ttl = resolution.ttlSeconds;
  const renew =
    resolution.renew ?? (ttl === null ? HB46PP_RETRY.noTtl : { minSeconds: ttl, maxSeconds: ttl });
  return retryDelayMs(renew, random);
}

function nextQuery(
  refusal: { readonly expires: number } | null,
  answer: { readonly expires: number; readonly why: "ttl" | "retry" } | null,
): { at: number; why: "ttl" | "retry" } | null {
  if (refusal !== null) return { at: refusal.expires, why: "retry" };
  return answer === null ? null : { at: answer.expires, why: answer.why };
}

/**
 * The daemon asks the network again only when the TTL runs out or the prefix changes (HB46PP
 * §3.6 k: also when the CE's IPv6 address, which the server answers by, changes). Between those,
 * every converge reuses the answer, and a refusal by the network (NXDOMAIN, no MAP-E offered) is
 * kept for its retry window too, so periodic checks do not query a server that said no. When asking
 * again fails for a reason that says nothing about the line (server or DNS unreachable, one empty
 * order), the last answer for the same prefix stays in use until the next retry, with `stale`
 * saying why, also when a lower source (the tables) could answer: a working path is not swapped or
 * taken down because a provisioning server is briefly away. Every wait is a random point in its
 * window (spec §3.6: 1–3 h, 1–10 min, 10–30 min, 20–24 h), so CEs do not ask in step.
 */
export function cachingResolver(
  inner: ParameterResolver,
  now: () => number = Date.now,
  options: { readonly maxRetrySeconds?: number; readonly random?: () => number } = {},
): CachingResolver {
  const random = options.random ?? Math.random;
  const maxRetryMs = (options.maxRetrySeconds ?? Infinity) * 1000;
  let queries = 0;
  let answer: { key: string; resolution: Resolution; expires: number; why: "ttl" | "retry" } | null = null;
  let refusal: { key: string; error: Error; expires: number } | null = null;
  let inFlight: ((err: Error) => void) | null = null;
  const keepLast = (key: string, why: string, waitMs: number): Resolution | null => {
    if (answer?.key !== key) return null;
    const stale = `${why}; keeping the parameters from the last answer (${resolutionSource(answer.resolution)}) until the next try in ${Math.round(waitMs / 1000)} s`;
    answer = { key, resolution: { ...answer.resolution, stale }, expires: now() + waitMs, why: "retry" };
    return answer.resolution;
  };
  const resolver = async (prefix: Ipv6Prefix, wan: string): Promise<Resolution> => {
    const key = `${formatIpv6Prefix(prefix)} ${wan}`;
    if (refusal?.key === key && now() < refusal.expires) throw refusal.error;
    if (answer?.key === key && now() < answer.expires) return answer.resolution;
    queries++;
    const asked = inner(prefix, wan);
    const interrupted = new Promise<never>((_resolve, reject) => {
      inFlight = reject;
    });
    try {
      const resolution = await Promise.race([asked, interrupted]);
      const fallback = resolution.fallback;
      if (fallback !== undefined && answer?.key === key) {
        const previous = resolutionSource(answer.resolution);
        const waitMs = Math.min(retryDelayMs(fallback.retry, random), maxRetryMs);
        if (previous !== resolutionSource(resolution)) {
          const kept = keepLast(key, fallback.why, waitMs);
          if (kept !== null) return kept;
        }
      }
      answer = { key, resolution, expires: now() + renewDelayMs(resolution, random), why: "ttl" };
      refusal = null;
      return resolution;
    } catch (err) {
      if (err instanceof QueryInterrupted) {
        asked.catch(() => undefined);
        throw err;
      }
      const window = (isMapeDisabled(err) ? err.retry : null) ?? DEFAULT_RETRY;
      const waitMs = Math.min(retryDelayMs(window, random), maxRetryMs);
      if (isMapeDisabled(err) && err.byNetwork) {
        answer = null;
        refusal = { key, error: err, expires: now() + waitMs };
        throw err;
      }
      const kept = keepLast(key, (err as Error).message, waitMs);
      if (kept !== null) return kept;
      refusal = { key, error: err as Error, expires: now() + waitMs };
      throw err;
    } finally {
      inFlight = null;
    }
  };
  return Object.assign(resolver, {
    invalidate: () => {
      answer = null;
      refusal = null;
    },
    interrupt: (why: string) => {
      if (inFlight === null) return false;
      inFlight(new QueryInterrupted(why));
      inFlight = null;
      return true;
    },
    nextQueryAt: () => nextQuery(refusal, answer),
    queries: () => queries,
  });
}
