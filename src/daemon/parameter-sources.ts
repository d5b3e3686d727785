import { hostProvisionIo } from "../host/provision-io.ts";
import { formatIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { resolveFromSettings } from "../plan/desired.ts";
import type { Settings } from "../plan/settings.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import { DEFAULT_ORDER, provision, type ProvisionResult } from "../provision/provision.ts";
import type { ParameterSource } from "../provision/parameters.ts";
import { shippedNotMape } from "../rules/shipped.ts";
import type { RuleTable } from "../rules/table.ts";
import { MapectlError } from "../mape/errors.ts";

export interface Resolution {
  readonly resolved: ResolvedParameters;
  /** How long the network said these parameters hold (HB46PP ttl), in seconds. */
  readonly ttlSeconds: number | null;
  /** Set when asking again failed and these are the last good answer's parameters: why. */
  readonly stale?: string;
}

/** Where `up` and the daemon get parameters for a prefix: the same sources as `mapectl provision`. */
export type ParameterResolver = (prefix: Ipv6Prefix, wan: string) => Promise<Resolution>;

/**
 * No MAP-E parameters from the sources asked. `byNetwork`: the network said this line has no MAP-E
 * (HB46PP NXDOMAIN or empty order, DS-Lite only, …), so MAP-E must come down; otherwise no source
 * could be used (server unreachable, DNS error), which says nothing about the line.
 */
export class MapeDisabled extends MapectlError {
  readonly retryAfterSeconds: number | null;
  readonly byNetwork: boolean;
  constructor(message: string, retryAfterSeconds: number | null, byNetwork = true) {
    super("no-parameters", message);
    this.name = "MapeDisabled";
    this.retryAfterSeconds = retryAfterSeconds;
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

export function parameterResolver(settings: Settings, table: RuleTable): ParameterResolver {
  const order = sourceOrder(settings);
  if (order.every((s) => s === "tables" || s === "manual")) {
    return (prefix) =>
      Promise.resolve({
        resolved: resolveFromSettings(settings, prefix, table, shippedNotMape()),
        ttlSeconds: null,
      });
  }
  return async (prefix, wan) => {
    const io = hostProvisionIo({
      sources: order,
      wan,
      resolvers: settings.resolvers,
      caFile: settings.caFile ?? undefined,
    });
    const result = await provision(
      {
        prefix,
        order,
        table,
        notMape: shippedNotMape(),
        manualRule: settings.rule ?? undefined,
        overrides: Object.keys(settings.overrides).length > 0 ? settings.overrides : undefined,
        interfaceId: settings.interfaceId ?? undefined,
      },
      io,
    );
    return resolutionOf(result);
  };
}

/** The resolver's answer from what provision() found: the chosen parameters, or why there are none. */
export function resolutionOf(result: ProvisionResult): Resolution {
  if (result.chosen === null) {
    const disabled = result.sources.find((s) => s.disableMapE || s.authoritative);
    const prefix = formatIpv6Prefix(result.prefix);
    if (disabled !== undefined) {
      const retry = disabled.retry;
      throw new MapeDisabled(
        `no MAP-E for ${prefix}: ${disabled.source}: ${disabled.error ?? disabled.status}`,
        retry === null ? null : Math.round(retry.minSeconds),
        true,
      );
    }
    // Retry at the earliest window any source named (spec §3.6: DNS 1–10 min, HTTP 10–30 min).
    const windows = result.sources.flatMap((s) => (s.retry === null ? [] : [s.retry.minSeconds]));
    throw new MapeDisabled(
      `no MAP-E parameters for ${prefix}: ${result.reason ?? "no source answered"}`,
      windows.length === 0 ? null : Math.round(Math.min(...windows)),
      false,
    );
  }
  const report = result.sources.find((s) => s.resolved === result.chosen);
  return { resolved: result.chosen, ttlSeconds: report?.ttl ?? null };
}

/** How long an answer without a TTL holds (HB46PP k.2 says 20–24 h; tables never change by themselves). */
const DEFAULT_TTL_S = 20 * 3600;
/** When a failure names no retry window: soon enough to recover, rare enough not to hammer a server. */
const DEFAULT_RETRY_S = 600;

export interface CachingResolver extends ParameterResolver {
  /** Forget everything: the next call asks the network (SIGHUP, an operator's retry). */
  invalidate(): void;
  /**
   * When the cached answer (ttl) or refusal or stale answer (retry) runs out, so the next call asks
   * the network again; null: nothing cached.
   */
  nextQueryAt(): { readonly at: number; readonly why: "ttl" | "retry" } | null;
  /** How many times the network (or table) was actually asked, for telling a renewal from a cache hit. */
  queries(): number;
}

/**
 * The daemon asks the network again only when the TTL runs out or the prefix changes (HB46PP
 * §3.6 k: also when the CE's IPv6 address, which the server answers by, changes). Between those,
 * every converge reuses the answer, and a refusal by the network (NXDOMAIN, no MAP-E offered) is
 * kept for its retry window too, so periodic checks do not query a server that said no. When asking
 * again fails for a reason that says nothing about the line (server or DNS unreachable), the last
 * answer for the same prefix stays in use until the next retry, with `stale` saying why: taking a
 * working path down because a provisioning server is briefly away would be worse than the TTL.
 */
export function cachingResolver(
  inner: ParameterResolver,
  now: () => number = Date.now,
  options: { readonly maxRetrySeconds?: number } = {},
): CachingResolver {
  let queries = 0;
  let answer: { key: string; resolution: Resolution; expires: number; why: "ttl" | "retry" } | null = null;
  let refusal: { key: string; error: Error; expires: number } | null = null;
  const resolver = async (prefix: Ipv6Prefix, wan: string): Promise<Resolution> => {
    const key = `${formatIpv6Prefix(prefix)} ${wan}`;
    if (refusal?.key === key && now() < refusal.expires) throw refusal.error;
    if (answer?.key === key && now() < answer.expires) return answer.resolution;
    queries++;
    try {
      const resolution = await inner(prefix, wan);
      const expires = now() + (resolution.ttlSeconds ?? DEFAULT_TTL_S) * 1000;
      answer = { key, resolution, expires, why: "ttl" };
      refusal = null;
      return resolution;
    } catch (err) {
      const retryS = Math.min(
        isMapeDisabled(err) ? (err.retryAfterSeconds ?? DEFAULT_RETRY_S) : DEFAULT_RETRY_S,
        options.maxRetrySeconds ?? Infinity,
      );
      const expires = now() + retryS * 1000;
      if (isMapeDisabled(err) && err.byNetwork) {
        answer = null;
        refusal = { key, error: err, expires };
        throw err;
      }
      if (answer?.key === key) {
        const stale = `${(err as Error).message}; keeping the parameters from the last answer until the next try in ${retryS} s`;
        answer = { key, resolution: { ...answer.resolution, stale }, expires, why: "retry" };
        return answer.resolution;
      }
      refusal = { key, error: err as Error, expires };
      throw err;
    }
  };
  return Object.assign(resolver, {
    invalidate: () => {
      answer = null;
      refusal = null;
    },
    nextQueryAt: () =>
      refusal !== null
        ? { at: refusal.expires, why: "retry" as const }
        : answer === null
          ? null
          : { at: answer.expires, why: answer.why },
    queries: () => queries,
  });
}
