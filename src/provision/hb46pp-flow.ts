import { isDecodeError } from "./errors.ts";
import {
  HB46PP_NAME,
  hb46ppVerdict,
  parseHb46ppReply,
  parseTxtRecords,
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

/** The network side of HB46PP; src/host implements it with node:dns and node:https, tests with fakes. */
export interface Hb46ppIo {
  resolveTxt(name: string): Promise<TxtLookup>;
  /** One GET over IPv6, no redirect following: the flow decides about 307. */
  get(url: string, verifyCertificate: boolean): Promise<HttpAnswer>;
  /** The resolvers asked, for the report (spec §3.1 wants the line's own). */
  readonly resolvers?: readonly string[];
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
  | "not-map-e";

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
}

export interface Hb46ppQueryOptions {
  readonly identity: CeIdentity;
  /** 307 hops before giving up; the spec sets no number, browsers use about 20. */
  readonly maxRedirects?: number;
}

function ttlWindow(ttl: number | null): RetryWindow {
  return ttl === null ? HB46PP_RETRY.noTtl : { minSeconds: ttl, maxSeconds: ttl };
}

/** One HB46PP round (spec §3.6 a–h): DNS TXT, GET with redirects, parse, verdict. Never throws for bad input. */
export async function queryHb46pp(io: Hb46ppIo, options: Hb46ppQueryOptions): Promise<Hb46ppOutcome> {
  const base = {
    record: null,
    urls: [] as string[],
    httpStatus: null,
    reply: null,
    verdict: null,
    warnings: [] as string[],
  };
  const lookup = await io.resolveTxt(HB46PP_NAME);
  if (lookup.kind === "nxdomain" || lookup.kind === "nodata") {
    return {
      ...base,
      status: "no-record",
      message: `${lookup.kind === "nxdomain" ? "NXDOMAIN" : "no TXT record"} for ${HB46PP_NAME}: this network does not offer HB46PP provisioning; MAP-E from HB46PP is disabled`,
      disableMapE: true,
      retry: HB46PP_RETRY.noRecord,
    };
  }
  if (lookup.kind === "error") {
    return {
      ...base,
      status: "dns-error",
      message: `DNS query TXT ${HB46PP_NAME} failed: ${lookup.message}`,
      disableMapE: false,
      retry: HB46PP_RETRY.dnsError,
    };
  }
  let record: Hb46ppRecord;
  try {
    record = parseTxtRecords(lookup.records);
  } catch (err) {
    if (!isDecodeError(err)) throw err;
    return {
      ...base,
      status: "bad-record",
      message: err.message,
      disableMapE: false,
      retry: HB46PP_RETRY.dnsError,
    };
  }
  const warnings = [...record.warnings];
  const urls: string[] = [];
  let url = requestUrl(record.url, options.identity);
  const maxRedirects = options.maxRedirects ?? 5;
  const httpFail = (status: Hb46ppStatus, message: string, httpStatus: number | null): Hb46ppOutcome => ({
    ...base,
    record,
    urls,
    httpStatus,
    warnings,
    status,
    message,
    disableMapE: false,
    retry: HB46PP_RETRY.httpError,
  });
  for (let hop = 0; ; hop++) {
    urls.push(url);
    const answer = await io.get(url, record.verifyCertificate);
    if (answer.kind === "error") return httpFail("http-error", `GET ${url} failed: ${answer.message}`, null);
    const { status } = answer;
    if (status === 307 || status === 308) {
      if (answer.location === null)
        return httpFail("http-error", `GET ${url}: ${status} without a Location header`, status);
      if (hop >= maxRedirects)
        return httpFail("http-error", `GET ${record.url}: more than ${maxRedirects} redirects`, status);
      let next: URL;
      try {
        next = new URL(answer.location, url);
      } catch {
        return httpFail(
          "http-error",
          `GET ${url}: ${status} to "${answer.location.slice(0, 100)}", which is not a URL`,
          status,
        );
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        return httpFail("http-error", `GET ${url}: ${status} to a ${next.protocol} URL`, status);
      }
      if (record.verifyCertificate && next.protocol === "http:") {
        return httpFail(
          "http-error",
          `GET ${url}: ${status} to ${next.href}, plain http, but t=b asks for a verified certificate`,
          status,
        );
      }
      // The spec says 307 names "the next server"; a Location without our query would lose the CE's identity.
      url = next.searchParams.has("vendorid") ? next.href : requestUrl(next.href, options.identity);
      continue;
    }
    if (status === 403 || status === 404) {
      return httpFail(
        "unknown-ce",
        `GET ${url}: ${status}: the provisioning server does not know this CE's source address (spec §3.3); is the WAN address the one the ISP delegated?`,
        status,
      );
    }
    if (status !== 200) return httpFail("http-error", `GET ${url}: HTTP status ${status}`, status);
    let reply: Hb46ppReply;
    try {
      reply = parseHb46ppReply(answer.body);
    } catch (err) {
      if (!isDecodeError(err)) throw err;
      return httpFail("bad-reply", `the provisioning server's answer is not usable: ${err.message}`, status);
    }
    warnings.push(...reply.warnings);
    const verdict = hb46ppVerdict(reply);
    const done = {
      ...base,
      record,
      urls,
      httpStatus: status,
      reply,
      verdict,
      warnings,
      retry: ttlWindow(reply.ttl),
    };
    const who = reply.serviceName ?? reply.enablerName ?? "the provisioning server";
    if (verdict.kind === "no-service") {
      return {
        ...done,
        status: "no-service",
        message: `${who} offers no IPv4 service to this CE (order is empty)`,
        disableMapE: true,
      };
    }
    if (verdict.kind === "not-map-e") {
      return {
        ...done,
        status: "not-map-e",
        message: `${who} provisions ${verdict.description}, not MAP-E`,
        disableMapE: true,
      };
    }
    const preferred =
      verdict.preferred.length === 0 ? "" : ` (the server prefers ${verdict.preferred.join(", ")} first)`;
    return {
      ...done,
      status: "ok",
      message: `${who}: MAP-E, ${verdict.mapE.rules.length} rule${verdict.mapE.rules.length === 1 ? "" : "s"}, BR ${verdict.mapE.br}${preferred}`,
      disableMapE: false,
    };
  }
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
