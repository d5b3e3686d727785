import { isDecodeError } from "./errors.ts";
import { redirectTarget } from "./hb46pp-redirect.ts";
import {
  HB46PP_NAME,
  hb46ppVerdict,
  DEFAULT_CLAIM,
  parseHb46ppReply,
  parseTxtRecords,
  redactUrl,
  requestUrl,
  type CeIdentity,
  type Hb46ppRecord,
  type Hb46ppReply,
  type Hb46ppVerdict,
} from "./hb46pp.ts";

/** The DNS answer for TXT 4over6.info, already sorted into the cases spec §3.6 c) distinguishes. */
export type TxtLookup =
  | { readonly kind: "records"; readonly records: readonly (readonly string[])[] }
  | { readonly kind: "nxdomain" }
  | { readonly kind: "nodata" }
  | { readonly kind: "error"; readonly code: string; readonly message: string };

export type HttpAnswer =
  | {
      readonly kind: "response";
      readonly status: number;
      readonly location: string | null;
      readonly body: Uint8Array;
    }
  | { readonly kind: "error"; readonly message: string };

/**
 * The network side of HB46PP; src/host implements it with node:dns and node:https, tests with fakes.
 * `servers` are the resolvers to ask (spec §1.2: the line's own); a fake may ignore them.
 */
export interface Hb46ppIo {
  resolveTxt(name: string, servers: readonly string[]): Promise<TxtLookup>;
  /**
   * One GET over IPv6, no redirect following: the flow decides about 307. `publicOnly` (set for a
   * redirect's target) refuses a name that resolves to anything but a global unicast address.
   */
  get(
    url: string,
    verifyCertificate: boolean,
    servers: readonly string[],
    options?: { readonly publicOnly?: boolean },
  ): Promise<HttpAnswer>;
  /** The resolvers given when the I/O was made (tests, --resolver); else they are learned per query. */
  readonly resolvers?: readonly string[];
}

/** The resolvers HB46PP asks and where they came from, for the report. */
export interface ResolverChoice {
  readonly servers: readonly string[];
  /** e.g. "--resolver", "DHCPv6 DNS servers (option 23) on wan0". */
  readonly from: string;
  /** Set when none could be learned: why. */
  readonly problem?: string | undefined;
}

/** A random wait from min to max seconds, as spec §3.6 prescribes for each failure. */
export interface RetryWindow {
  readonly minSeconds: number;
  readonly maxSeconds: number;
}

/** Spec §3.6 as data, so the daemon schedules with the same numbers the report shows. */
export const HB46PP_RETRY = {
  /** c.2: NXDOMAIN or NODATA: switch the method off, ask again in 1–3 h. */
  noRecord: { minSeconds: 3600, maxSeconds: 3 * 3600 },
  /** c.3: any other DNS failure: 1–10 min. */
  dnsError: { minSeconds: 60, maxSeconds: 600 },
  /** f.2, h.2: no answer from the server, or an answer that is an error: 10–30 min. */
  httpError: { minSeconds: 600, maxSeconds: 1800 },
  /** k.2: valid data without a TTL: 20–24 h. */
  noTtl: { minSeconds: 20 * 3600, maxSeconds: 24 * 3600 },
} as const satisfies Record<string, RetryWindow>;

export type Hb46ppStatus =
  | "ok"
  | "no-record"
  | "dns-error"
  | "bad-record"
  | "http-error"
  | "unknown-ce"
  | "bad-reply"
  | "no-service"
  | "not-map-e"
  | "unclaimed"
  | "no-resolver";

export interface Hb46ppOutcome {
  readonly status: Hb46ppStatus;
  /** One line for a person. */
  readonly message: string;
  /** Spec §3.6 c.2 and an answer without MAP-E: a running MAP-E set up from HB46PP must stop. */
  readonly disableMapE: boolean;
  /** When to ask again (also after success: the TTL, or 20–24 h); the CE's IPv6 address changing also triggers it. */
  readonly retry: RetryWindow;
  readonly record: Hb46ppRecord | null;
  /** Every URL requested, in order, the last one answered. */
  readonly urls: readonly string[];
  readonly httpStatus: number | null;
  readonly reply: Hb46ppReply | null;
  readonly verdict: Hb46ppVerdict | null;
  readonly warnings: readonly string[];
  readonly resolvers: ResolverChoice;
}

export interface Hb46ppQueryOptions {
  readonly identity: CeIdentity;
  /** Default: the I/O's own `resolvers`. */
  readonly resolvers?: ResolverChoice | undefined;
  /**
   * The previous answer was an empty order too. The spec also answers `[]` to a source it does not
   * place and no valid token, so one empty order is asked again in 10–30 min before it counts.
   */
  readonly emptyOrderConfirmed?: boolean | undefined;
  /** 307 hops before giving up; the spec sets no number, browsers use about 20. */
  readonly maxRedirects?: number;
}

function ttlWindow(ttl: number | null): RetryWindow {
  return ttl === null ? HB46PP_RETRY.noTtl : { minSeconds: ttl, maxSeconds: ttl };
}

type Base = Omit<Hb46ppOutcome, "status" | "message" | "disableMapE" | "retry">;

/** Spec §3.6 c: the TXT record, or the outcome that ends the round. */
async function lookupRecord(
  io: Hb46ppIo,
  base: Base,
): Promise<{ record: Hb46ppRecord } | { outcome: Hb46ppOutcome }> {
  const servers = base.resolvers.servers;
  if (servers.length === 0) {
    return {
      outcome: {
        ...base,
        status: "no-resolver",
        message: `no resolver of the line to ask for TXT ${HB46PP_NAME}: ${base.resolvers.problem ?? "none known"}; give one with --resolver`,
        disableMapE: false,
        retry: HB46PP_RETRY.dnsError,
      },
    };
  }
  const lookup = await io.resolveTxt(HB46PP_NAME, servers);
  const via = `(resolver ${servers.join(", ")}, ${base.resolvers.from})`;
  if (lookup.kind === "nxdomain" || lookup.kind === "nodata") {
    return {
      outcome: {
        ...base,
        status: "no-record",
        message: `${lookup.kind === "nxdomain" ? "NXDOMAIN" : "no TXT record"} for ${HB46PP_NAME}: this network does not offer HB46PP provisioning; MAP-E from HB46PP is disabled ${via}`,
        disableMapE: true,
        retry: HB46PP_RETRY.noRecord,
      },
    };
  }
  if (lookup.kind === "error") {
    return {
      outcome: {
        ...base,
        status: "dns-error",
        message: `DNS query TXT ${HB46PP_NAME} failed: ${lookup.message} ${via}`,
        disableMapE: false,
        retry: HB46PP_RETRY.dnsError,
      },
    };
  }
  try {
    return { record: parseTxtRecords(lookup.records) };
  } catch (err) {
    if (!isDecodeError(err)) throw err;
    const outcome: Hb46ppOutcome = {
      ...base,
      status: "bad-record",
      message: err.message,
      disableMapE: false,
      retry: HB46PP_RETRY.dnsError,
    };
    return { outcome };
  }
}

type Fetched =
  | { readonly kind: "answer"; readonly status: number; readonly body: Uint8Array }
  | {
      readonly kind: "failed";
      readonly status: Hb46ppStatus;
      readonly message: string;
      readonly http: number | null;
    };

/** Spec §3.6 d–h: the GET, following 307 to the next server with the CE's parameters. */
async function fetchAnswer(
  io: Hb46ppIo,
  record: Hb46ppRecord,
  options: Hb46ppQueryOptions,
  servers: readonly string[],
  urls: string[],
): Promise<Fetched> {
  let url = requestUrl(record.url, options.identity);
  const maxRedirects = options.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    const shown = redactUrl(url);
    urls.push(shown);
    const answer = await io.get(url, record.verifyCertificate, servers, { publicOnly: hop > 0 });
    if (answer.kind === "error")
      return {
        kind: "failed",
        status: "http-error",
        message: `GET ${shown} failed: ${answer.message}`,
        http: null,
      };
    const { status } = answer;
    if (status === 307 || status === 308) {
      if (hop >= maxRedirects) {
        const message = `GET ${redactUrl(record.url)}: more than ${maxRedirects} redirects`;
        return { kind: "failed", status: "http-error", message, http: status };
      }
      const next = redirectTarget(shown, url, status, answer.location, record);
      if (typeof next === "string")
        return { kind: "failed", status: "http-error", message: next, http: status };
      // The spec says 307 names "the next server"; a Location without our query would lose the CE's identity.
      url = next.searchParams.has("vendorid") ? next.href : requestUrl(next.href, options.identity);
      continue;
    }
    if (status === 403 || status === 404) {
      const message = `GET ${shown}: ${status}: the provisioning server does not know this CE's source address (spec §3.3); is the WAN address the one the ISP delegated?`;
      return { kind: "failed", status: "unknown-ce", message, http: status };
    }
    if (status !== 200)
      return {
        kind: "failed",
        status: "http-error",
        message: `GET ${shown}: HTTP status ${status}`,
        http: status,
      };
    return { kind: "answer", status, body: answer.body };
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Spec §3.4 and §3.6 k: what a parsed answer means for this CE. */
function interpret(
  done: Omit<Hb46ppOutcome, "status" | "message" | "disableMapE">,
  options: Hb46ppQueryOptions,
): Hb46ppOutcome {
  const { reply, verdict } = done;
  if (reply === null || verdict === null) throw new Error("interpret needs a reply");
  const who = reply.serviceName ?? reply.enablerName ?? "the provisioning server";
  const capability = (options.identity.capability ?? DEFAULT_CLAIM).join(",");
  switch (verdict.kind) {
    case "no-service":
      if (options.emptyOrderConfirmed === true) {
        return {
          ...done,
          status: "no-service",
          message: `${who} offers no IPv4 service to this CE (order is empty, twice in a row)`,
          disableMapE: true,
        };
      }
      return {
        ...done,
        status: "no-service",
        message: `${who} offers no IPv4 service to this CE (order is empty); one empty answer is not final (the spec also answers it to an unplaced source): asking again in 10–30 min`,
        disableMapE: false,
        retry: HB46PP_RETRY.httpError,
      };
    case "not-map-e":
      return {
        ...done,
        status: "not-map-e",
        message: `${who} provisions ${verdict.description}, not MAP-E`,
        disableMapE: true,
      };
    case "unclaimed":
      return {
        ...done,
        status: "unclaimed",
        message: `${who} provisions ${verdict.description}, which this CE did not claim (capability=${capability}) and cannot run; not taken as a refusal of MAP-E`,
        disableMapE: false,
      };
    case "map-e": {
      const preferred =
        verdict.preferred.length === 0 ? "" : ` (the server prefers ${verdict.preferred.join(", ")} first)`;
      const message = `${who}: MAP-E, ${plural(verdict.mapE.rules.length, "rule")}, BR ${verdict.mapE.br}${preferred}`;
      return { ...done, status: "ok", message, disableMapE: false };
    }
  }
}

/** One HB46PP round (spec §3.6 a–h): DNS TXT, GET with redirects, parse, verdict. Never throws for bad input. */
export async function queryHb46pp(io: Hb46ppIo, options: Hb46ppQueryOptions): Promise<Hb46ppOutcome> {
  const resolvers = options.resolvers ?? { servers: io.resolvers ?? [], from: "given" };
  const base: Base = {
    record: null,
    urls: [],
    httpStatus: null,
    reply: null,
    verdict: null,
    warnings: [],
    resolvers,
  };
  const found = await lookupRecord(io, base);
  if ("outcome" in found) return found.outcome;
  const { record } = found;
  const warnings = [...record.warnings];
  const urls: string[] = [];
  const fetched = await fetchAnswer(io, record, options, resolvers.servers, urls);
  const reached = { ...base, record, urls, warnings };
  if (fetched.kind === "failed") {
    return {
      ...reached,
      httpStatus: fetched.http,
      status: fetched.status,
      message: fetched.message,
      disableMapE: false,
      retry: HB46PP_RETRY.httpError,
    };
  }
  let reply: Hb46ppReply;
  try {
    reply = parseHb46ppReply(fetched.body);
  } catch (err) {
    if (!isDecodeError(err)) throw err;
    return {
      ...reached,
      httpStatus: fetched.status,
      status: "bad-reply",
      message: `the provisioning server's answer is not usable: ${err.message}`,
      disableMapE: false,
      retry: HB46PP_RETRY.httpError,
    };
  }
  warnings.push(...reply.warnings);
  if (reply.mapE?.mesh === true)
    warnings.push("map_e.mesh is 1: this CE does not do mesh; traffic to other CEs goes through the BR");
  const verdict = hb46ppVerdict(reply, options.identity.capability ?? DEFAULT_CLAIM);
  return interpret(
    { ...reached, httpStatus: fetched.status, reply, verdict, retry: ttlWindow(reply.ttl) },
    options,
  );
}

/** A point in the retry window; `random` is uniform in [0, 1). */
export function retryDelayMs(window: RetryWindow, random: () => number): number {
  return Math.round((window.minSeconds + random() * (window.maxSeconds - window.minSeconds)) * 1000);
}

export type RequeryReason = "first" | "due" | "address-changed";

/**
 * When to ask HB46PP again (spec §3.6 k): at the end of the TTL or retry window, or at once when the
 * CE's IPv6 address (the server answers by it) changes. Pure; the daemon feeds it its clock.
 */
export class Hb46ppSchedule {
  #dueAt: number | null = null;
  #address: string | null = null;

  /** Records a finished query made while the CE had `address`; returns the time of the next one. */
  record(outcome: Pick<Hb46ppOutcome, "retry">, now: number, address: string, random: () => number): number {
    this.#dueAt = now + retryDelayMs(outcome.retry, random);
    this.#address = address;
    return this.#dueAt;
  }

  get dueAt(): number | null {
    return this.#dueAt;
  }

  /** Why a query is needed now, or null. */
  due(now: number, address: string): RequeryReason | null {
    if (this.#dueAt === null) return "first";
    if (address !== this.#address) return "address-changed";
    return now >= this.#dueAt ? "due" : null;
  }
}
