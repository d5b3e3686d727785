import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { isMapeError } from "../mape/errors.ts";
import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { ruleSpec, type MapRule, type MapRuleSpec } from "../mape/rule.ts";
import type { NotMapePrefix, RuleTable } from "../rules/table.ts";
import { hex } from "./bytes.ts";
import {
  IRT_DEFAULT_SECONDS,
  queryDhcpv6,
  type Dhcpv6Io,
  type Dhcpv6Outcome,
  type Dhcpv6QueryOptions,
} from "./dhcpv6-source.ts";
import { DEFAULT_IDENTITY, type CeIdentity } from "./hb46pp.ts";
import {
  queryHb46pp,
  type Hb46ppIo,
  type Hb46ppOutcome,
  type ResolverChoice,
  type RetryWindow,
} from "./hb46pp-flow.ts";
import {
  parametersJson,
  resolveParameters,
  type ParameterSource,
  type ProvisionedRules,
  type ResolvedParameters,
} from "./parameters.ts";

/** Ask the network first, then fall back on what we ship, then on what the user typed. */
export const DEFAULT_ORDER: readonly ParameterSource[] = ["hb46pp", "dhcpv6", "tables", "manual"];

/** What one source said, whether or not it was usable. */
export interface SourceReport {
  readonly source: ParameterSource;
  readonly ok: boolean;
  /** Machine-readable: "ok", or why not (e.g. "no-record", "no-answer", "not-map-e", "no-rule"). */
  readonly status: string;
  readonly error: string | null;
  /** A positive "this line has no MAP-E" from the network: sources after it are not used. */
  readonly authoritative: boolean;
  /** HB46PP's rule; MAP-E from this source must be switched off (spec §3.6). */
  readonly disableMapE: boolean;
  readonly rules: readonly MapRule[];
  readonly br: string | null;
  readonly ceInterfaceId: InterfaceIdLayout | null;
  readonly ttl: number | null;
  /** When to ask this source again; null for sources that do not change by themselves. */
  readonly retry: RetryWindow | null;
  /** The parameters of this source's rule for the prefix; null when it has none. */
  readonly resolved: ResolvedParameters | null;
  readonly warnings: readonly string[];
  readonly details: Readonly<Record<string, unknown>>;
}

export interface Disagreement {
  readonly field: string;
  /** source → value, for every usable source, side by side. */
  readonly values: Readonly<Partial<Record<ParameterSource, string>>>;
}

export interface ProvisionResult {
  readonly prefix: Ipv6Prefix;
  readonly sources: readonly SourceReport[];
  /** The first usable source in order; null when none is (or the network said no MAP-E). */
  readonly chosen: ResolvedParameters | null;
  /** Why nothing was chosen, when nothing was. */
  readonly reason: string | null;
  readonly disagreements: readonly Disagreement[];
}

export interface ProvisionOptions {
  readonly prefix: Ipv6Prefix;
  /** The sources to ask, in order of preference (the first usable one wins). */
  readonly order?: readonly ParameterSource[] | undefined;
  readonly table: RuleTable;
  readonly notMape: readonly NotMapePrefix[];
  readonly manualRule?: MapRuleSpec | undefined;
  readonly overrides?: Partial<MapRuleSpec> | undefined;
  /** Forces the CE interface-ID layout for every source (else: network's, service's, draft-03). */
  readonly interfaceId?: InterfaceIdLayout | undefined;
  readonly identity?: CeIdentity | undefined;
  /** The previous HB46PP answer was an empty order too: this one withdraws MAP-E (see hb46pp-flow). */
  readonly emptyOrderConfirmed?: boolean | undefined;
  readonly dhcpv6?: Dhcpv6QueryOptions | undefined;
}

/** The I/O of the network sources; a missing one is reported as not available on this host. */
export interface ProvisionIo {
  readonly hb46pp?: Hb46ppIo | undefined;
  readonly dhcpv6?: Dhcpv6Io | undefined;
  /**
   * The line's resolvers for HB46PP, chosen once the DHCPv6 source (when asked) has answered, so its
   * DNS servers (option 23) can be used. Absent: the HB46PP I/O's own `resolvers`.
   */
  readonly hb46ppResolvers?: ((dhcpv6: Dhcpv6Outcome | null) => Promise<ResolverChoice>) | undefined;
}

type Pending = Omit<SourceReport, "resolved" | "br" | "ceInterfaceId"> & {
  readonly provisioned: ProvisionedRules | null;
  readonly br: string | null;
  readonly ceInterfaceId: InterfaceIdLayout | null;
};

function failed(
  source: ParameterSource,
  status: string,
  error: string,
  extra: Partial<Pending> = {},
): Pending {
  return {
    source,
    ok: false,
    status,
    error,
    authoritative: false,
    disableMapE: false,
    rules: [],
    br: null,
    ceInterfaceId: null,
    ttl: null,
    retry: null,
    warnings: [],
    details: {},
    provisioned: null,
    ...extra,
  };
}

function fromHb46pp(outcome: Hb46ppOutcome): Pending {
  const reply = outcome.reply;
  const details: Record<string, unknown> = {
    status: outcome.status,
    resolvers: outcome.resolvers.servers,
    resolversFrom: outcome.resolvers.from,
    url: outcome.record?.url ?? null,
    verifyCertificate: outcome.record?.verifyCertificate ?? null,
    requests: outcome.urls,
    httpStatus: outcome.httpStatus,
    enablerName: reply?.enablerName ?? null,
    serviceName: reply?.serviceName ?? null,
    ispName: reply?.ispName ?? null,
    order: reply?.order ?? null,
    aftr: reply?.dslite?.aftr ?? null,
    ipip: reply?.ipip ?? null,
    token: reply?.token ?? null,
    mesh: reply?.mapE?.mesh ?? null,
  };
  const common = {
    ttl: reply?.ttl ?? null,
    retry: outcome.retry,
    disableMapE: outcome.disableMapE,
    warnings: outcome.warnings,
    details,
  };
  const mapE = outcome.verdict?.kind === "map-e" ? outcome.verdict.mapE : null;
  if (outcome.status !== "ok" || mapE === null) {
    // Only a confirmed empty order and a method this CE claimed speak for the line (see hb46pp-flow).
    return failed("hb46pp", outcome.status, outcome.message, {
      ...common,
      authoritative:
        (outcome.status === "no-service" && outcome.disableMapE) || outcome.status === "not-map-e",
    });
  }
  return {
    source: "hb46pp",
    ok: true,
    status: "ok",
    error: null,
    authoritative: false,
    rules: mapE.rules,
    br: mapE.br,
    ceInterfaceId: mapE.ceInterfaceId,
    ...common,
    details: { ...details, mapEVersion: mapE.version, mesh: mapE.mesh, message: outcome.message },
    provisioned: { source: "hb46pp", rules: mapE.rules, interfaceId: mapE.ceInterfaceId },
  };
}

function fromDhcpv6(outcome: Dhcpv6Outcome): Pending {
  const ex = outcome.exchange;
  const details: Record<string, unknown> = {
    status: outcome.status,
    bound: outcome.bound,
    server: outcome.reply?.serverId == null ? null : hex(outcome.reply.serverId.bytes),
    elapsedMs: ex?.elapsedMs ?? null,
    transmissions: ex?.transmissions ?? null,
    ignored: ex?.ignored.map((i) => i.reason) ?? [],
    brs: outcome.brs,
    fmr: outcome.fmr,
    dnsServers: outcome.dnsServers,
    aftrName: outcome.aftrName,
    offeredPrefixes: outcome.offeredPrefixes.map((p) => p.prefix),
    message: outcome.message,
  };
  const ttl = outcome.reply?.informationRefreshTime ?? null;
  if (outcome.status !== "ok") {
    // A server that answers and provisions another mechanism has spoken for this line.
    return failed("dhcpv6", outcome.status, outcome.message, {
      details,
      warnings: outcome.warnings,
      ttl,
      authoritative: outcome.status === "not-map-e",
    });
  }
  return {
    source: "dhcpv6",
    ok: true,
    status: "ok",
    error: null,
    authoritative: false,
    disableMapE: false,
    rules: outcome.rules,
    br: outcome.brs[0] ?? null,
    ceInterfaceId: null,
    ttl,
    retry: { minSeconds: ttl ?? IRT_DEFAULT_SECONDS, maxSeconds: ttl ?? IRT_DEFAULT_SECONDS },
    warnings: outcome.warnings,
    details,
    provisioned: { source: "dhcpv6", rules: outcome.rules, interfaceId: null },
  };
}

function resolveFor(options: ProvisionOptions, pending: Pending): SourceReport {
  const { provisioned, ...report } = pending;
  const base = {
    prefix: options.prefix,
    table: options.table,
    notMape: options.notMape,
    overrides: options.overrides,
    interfaceId: options.interfaceId,
  };
  if (!report.ok) return { ...report, resolved: null };
  let resolved: ResolvedParameters;
  try {
    if (report.source === "tables") resolved = resolveParameters(base);
    else if (report.source === "manual")
      resolved = resolveParameters({ ...base, manualRule: options.manualRule });
    else resolved = resolveParameters({ ...base, provisioned: provisioned ?? undefined });
  } catch (err) {
    if (!isMapeError(err)) throw err;
    return {
      ...report,
      ok: false,
      status: err.code === "NOT_MAPE_LINE" ? "not-map-e" : "no-rule",
      error: err.message,
      resolved: null,
    };
  }
  const rule = resolved.params.rule;
  return {
    ...report,
    ok: true,
    status: "ok",
    error: null,
    // The table holds thousands of rules: report the one that matched, as the network sources' are.
    rules: report.source === "tables" || report.source === "manual" ? [rule] : report.rules,
    br: rule.br === null ? report.br : formatIpv6(rule.br),
    ceInterfaceId: resolved.params.interfaceId,
    resolved,
  };
}

const COMPARED: readonly [string, (r: ResolvedParameters) => string][] = [
  ["br", (r) => (r.params.rule.br === null ? "none" : formatIpv6(r.params.rule.br))],
  [
    "rule",
    (r) => {
      const s = ruleSpec(r.params.rule);
      return `${s.ipv6Prefix} → ${s.ipv4Prefix}, EA ${s.eaBits}, offset ${s.psidOffset}, PSID length ${s.psidLength ?? 0}`;
    },
  ],
  ["ceInterfaceId", (r) => r.params.interfaceId],
  [
    "ipv4Address",
    (r) =>
      `${formatIpv4(r.params.ipv4Address)}${r.params.ipv4PrefixLength === 32 ? "" : `/${r.params.ipv4PrefixLength}`}`,
  ],
  ["psid", (r) => String(r.params.psid)],
  ["ceAddress", (r) => formatIpv6(r.params.ceAddress)],
];

/** Fields on which the usable sources do not all agree, each with every source's value. */
export function findDisagreements(reports: readonly SourceReport[]): Disagreement[] {
  const usable = reports.filter(
    (r): r is SourceReport & { resolved: ResolvedParameters } => r.resolved !== null,
  );
  if (usable.length < 2) return [];
  const out: Disagreement[] = [];
  for (const [field, get] of COMPARED) {
    const values: Partial<Record<ParameterSource, string>> = {};
    for (const r of usable) values[r.source] = get(r.resolved);
    if (new Set(Object.values(values)).size > 1) out.push({ field, values });
  }
  return out;
}

/**
 * Asks every source in `order` (the network ones concurrently), computes each one's parameters for
 * the prefix, picks the first usable one, and lists where they disagree. Never throws for what a
 * network or a packet says; that ends up in the source's report.
 */
export async function provision(options: ProvisionOptions, io: ProvisionIo): Promise<ProvisionResult> {
  const order = options.order ?? DEFAULT_ORDER;
  // Started first: HB46PP waits for it when it learns the line's resolvers from its answer.
  const dhcpv6Run =
    order.includes("dhcpv6") && io.dhcpv6 !== undefined ? queryDhcpv6(io.dhcpv6, options.dhcpv6) : null;
  const hb46ppRun = async (hb46ppIo: Hb46ppIo): Promise<Pending> => {
    const resolvers =
      io.hb46ppResolvers === undefined
        ? undefined
        : await io.hb46ppResolvers(dhcpv6Run === null ? null : await dhcpv6Run);
    const outcome = await queryHb46pp(hb46ppIo, {
      identity: options.identity ?? DEFAULT_IDENTITY,
      resolvers,
      emptyOrderConfirmed: options.emptyOrderConfirmed,
    });
    return fromHb46pp(outcome);
  };
  const pending = await Promise.all(
    order.map(async (source): Promise<Pending> => {
      switch (source) {
        case "hb46pp":
          if (io.hb46pp === undefined) return failed(source, "unavailable", "HB46PP is not available here");
          return hb46ppRun(io.hb46pp);
        case "dhcpv6":
          if (dhcpv6Run === null)
            return failed(source, "unavailable", "DHCPv6 is not available here (no WAN interface given)");
          return fromDhcpv6(await dhcpv6Run);
        case "tables":
          return { ...failed(source, "ok", ""), ok: true, error: null };
        case "manual":
          if (options.manualRule === undefined)
            return failed(source, "not-configured", "no manual rule given");
          return { ...failed(source, "ok", ""), ok: true, error: null };
      }
    }),
  );
  const sources = pending.map((p) => resolveFor(options, p));
  let chosen: ResolvedParameters | null = null;
  let reason: string | null = null;
  for (const report of sources) {
    if (report.resolved !== null) {
      chosen = report.resolved;
      break;
    }
    if (report.authoritative) {
      reason = `${report.source}: ${report.error ?? ""}`;
      break;
    }
  }
  if (chosen === null && reason === null) {
    reason = `no source gives MAP-E parameters for ${formatIpv6Prefix(options.prefix)} (${sources.map((s) => `${s.source}: ${s.status}`).join(", ")})`;
  }
  return { prefix: options.prefix, sources, chosen, reason, disagreements: findDisagreements(sources) };
}

/** The `provision --json` document. */
export type ProvisionJson = ReturnType<typeof provisionJson>;

export function provisionJson(result: ProvisionResult) {
  return {
    schemaVersion: SCHEMA_VERSION,
    prefix: formatIpv6Prefix(result.prefix),
    sources: result.sources.map((s) => ({
      source: s.source,
      ok: s.ok,
      status: s.status,
      error: s.error,
      rules: s.rules.map((rule) => {
        const spec = ruleSpec(rule);
        return {
          ipv6Prefix: spec.ipv6Prefix,
          ipv4Prefix: spec.ipv4Prefix,
          eaBits: spec.eaBits,
          psidOffset: spec.psidOffset,
          psidLength: spec.psidLength,
          psid: spec.psid ?? null,
        };
      }),
      br: s.br,
      ceInterfaceId: s.ceInterfaceId,
      ttl: s.ttl,
      retry: s.retry,
      disableMapE: s.disableMapE,
      authoritative: s.authoritative,
      warnings: s.warnings,
      details: s.details,
    })),
    chosen: result.chosen === null ? null : parametersJson(result.chosen),
    reason: result.reason,
    disagreements: result.disagreements,
  };
}
