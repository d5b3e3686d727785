import { hostProvisionIo } from "../host/provision-io.ts";
import { formatIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { resolveFromSettings } from "../plan/desired.ts";
import type { Settings } from "../plan/settings.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import { DEFAULT_ORDER, provision } from "../provision/provision.ts";
import type { ParameterSource } from "../provision/parameters.ts";
import { shippedNotMape } from "../rules/shipped.ts";
import type { RuleTable } from "../rules/table.ts";

export interface Resolution {
  readonly resolved: ResolvedParameters;
  /** How long the network said these parameters hold (HB46PP ttl), in seconds. */
  readonly ttlSeconds: number | null;
}

/** Where `up` and the daemon get parameters for a prefix: the same sources as `mapectl provision`. */
export type ParameterResolver = (prefix: Ipv6Prefix, wan: string) => Promise<Resolution>;

/** The network said this line has no MAP-E (HB46PP NXDOMAIN or empty order, DS-Lite only, …). */
export class MapeDisabled extends Error {
  readonly retryAfterSeconds: number | null;
  constructor(message: string, retryAfterSeconds: number | null) {
    super(message);
    this.name = "MapeDisabled";
    this.retryAfterSeconds = retryAfterSeconds;
  }
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
    const disabled = result.sources.find((s) => s.disableMapE);
    if (result.chosen === null) {
      const retry = disabled?.retry ?? null;
      throw new MapeDisabled(
        `no MAP-E parameters for ${formatIpv6Prefix(prefix)}: ${result.reason ?? "no source answered"}`,
        retry === null ? null : Math.round(retry.minSeconds),
      );
    }
    const report = result.sources.find((s) => s.resolved === result.chosen);
    return { resolved: result.chosen, ttlSeconds: report?.ttl ?? null };
  };
}

/**
 * The daemon asks the network again only when the TTL runs out or the prefix changes (HB46PP
 * §re-query); between those, every converge reuses the answer.
 */
export function cachingResolver(
  inner: ParameterResolver,
  now: () => number = Date.now,
): ParameterResolver & { invalidate(): void } {
  let cached: { key: string; resolution: Resolution; expires: number } | null = null;
  const DEFAULT_TTL_S = 20 * 3600;
  const resolver = async (prefix: Ipv6Prefix, wan: string): Promise<Resolution> => {
    const key = `${formatIpv6Prefix(prefix)} ${wan}`;
    if (cached?.key === key && now() < cached.expires) return cached.resolution;
    const resolution = await inner(prefix, wan);
    cached = { key, resolution, expires: now() + (resolution.ttlSeconds ?? DEFAULT_TTL_S) * 1000 };
    return resolution;
  };
  return Object.assign(resolver, {
    invalidate: () => {
      cached = null;
    },
  });
}
