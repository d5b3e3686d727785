import { Resolver } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import type { HttpAnswer, Hb46ppIo, TxtLookup } from "../provision/hb46pp-flow.ts";
import { MAX_BODY } from "../provision/hb46pp.ts";
import { ipv6Class } from "../mape/address-class.ts";
import { parseIpv6 } from "../mape/ipv6.ts";
import { HostError } from "./errors.ts";
import { readTextFile } from "./files.ts";

export interface Hb46ppHostOptions {
  /** The line's own resolvers when known up front (--resolver); else each query names its own. */
  readonly resolvers?: readonly string[] | undefined;
  /** PEM file of extra CAs trusted when t=b, e.g. a provider's private CA or a test CA. */
  readonly caFile?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

export function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? "";
}

/** A resolver that asks only `servers`: never the system's, which may not serve 4over6.info. */
export function makeResolver(servers: readonly string[], timeoutMs: number): Resolver {
  // c-ares' timeout is per try and doubles on each; two tries keep the total near timeoutMs.
  const resolver = new Resolver({ timeout: Math.max(Math.round(timeoutMs / 3), 100), tries: 2 });
  try {
    resolver.setServers([...servers]);
  } catch (err) {
    throw new HostError("COMMAND_FAILED", `resolver ${servers.join(", ")}: ${(err as Error).message}`);
  }
  return resolver;
}

function certificateHint(code: string): string {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|HOSTNAME/.test(code)
    ? " (the TXT record says t=b: the server's certificate must verify; give its CA with --ca-file if it is private)"
    : "";
}

async function readBody(res: IncomingMessage): Promise<Uint8Array | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) {
      res.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * HB46PP over this host's network: TXT through the given resolvers with node:dns, and GET over IPv6
 * only (spec §3.3) with node:http(s), the server's name sent as SNI and checked when t=b.
 */
/** What every exchange of one HB46PP client shares. */
interface FetchContext {
  readonly timeoutMs: number;
  /** A CA of the user's (--ca-file) beside the system's, for a server with a private CA. */
  readonly extraCa: string | null;
}

async function resolveTxt(ctx: FetchContext, name: string, servers: readonly string[]): Promise<TxtLookup> {
  try {
    return { kind: "records", records: await makeResolver(servers, ctx.timeoutMs).resolveTxt(name) };
  } catch (err) {
    const code = codeOf(err);
    if (code === "ENOTFOUND") return { kind: "nxdomain" };
    if (code === "ENODATA") return { kind: "nodata" };
    return { kind: "error", code, message: `${code || (err as Error).message} via ${servers.join(", ")}` };
  }
}

async function addressOf(
  ctx: FetchContext,
  host: string,
  servers: readonly string[],
  signal: AbortSignal,
): Promise<string> {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 6) return bare;
  if (family === 4)
    throw new Error(`${host} is an IPv4 address; HB46PP is spoken over IPv6 only (spec §3.3)`);
  const resolver = makeResolver(servers, ctx.timeoutMs);
  const cancel = (): void => {
    resolver.cancel();
  };
  signal.addEventListener("abort", cancel, { once: true });
  try {
    const addresses = await resolver.resolve6(bare);
    const first = addresses[0];
    if (first === undefined) throw new Error("no AAAA record");
    return first;
  } catch (err) {
    throw new Error(`no IPv6 address for ${bare}: ${codeOf(err) || (err as Error).message}`, {
      cause: err,
    });
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/**
 * One deadline for the whole exchange (name lookup, connection, TLS, headers and body): a server
 * that trickles its answer a byte at a time cannot hold the caller past it, as a per-socket idle
 * timeout alone would let it.
 */
async function get(
  ctx: FetchContext,
  urlText: string,
  verifyCertificate: boolean,
  servers: readonly string[],
  options: { readonly publicOnly?: boolean } = {},
): Promise<HttpAnswer> {
  const { timeoutMs } = ctx;
  const controller = new AbortController();
  const late: HttpAnswer = {
    kind: "error",
    message: `no answer in ${timeoutMs / 1000} s (one deadline for the whole exchange: name, TLS, body)`,
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<HttpAnswer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(late);
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      exchange(ctx, urlText, verifyCertificate, servers, controller.signal, options.publicOnly === true),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function exchange(
  ctx: FetchContext,
  urlText: string,
  verifyCertificate: boolean,
  servers: readonly string[],
  signal: AbortSignal,
  publicOnly: boolean,
): Promise<HttpAnswer> {
  const { timeoutMs, extraCa } = ctx;
  const url = new URL(urlText);
  let address: string;
  try {
    address = await addressOf(ctx, url.hostname, servers, signal);
  } catch (err) {
    return { kind: "error", message: (err as Error).message };
  }
  if (publicOnly) {
    const kind = ipv6Class(parseIpv6(address));
    if (kind !== "a global unicast address")
      return { kind: "error", message: `${url.hostname} resolves to ${address}, ${kind}: not followed` };
  }
  const https = url.protocol === "https:";
  const bareHost = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise<HttpAnswer>((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(
      {
        host: address,
        family: 6,
        port: url.port === "" ? (https ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: { Host: url.host, Accept: "application/json", "User-Agent": "mapectl" },
        agent: false,
        timeout: timeoutMs,
        signal,
        ...(https
          ? {
              // SNI only for names (RFC 6066 forbids IP literals there); identity is checked either way.
              servername: isIP(bareHost) === 0 ? bareHost : "",
              rejectUnauthorized: verifyCertificate,
              ...(verifyCertificate && extraCa !== null ? { ca: [...rootCertificates, extraCa] } : {}),
            }
          : {}),
      },
      (res) => {
        readBody(res).then(
          (body) => {
            if (body === null)
              resolve({ kind: "error", message: `the body is larger than ${MAX_BODY} bytes` });
            else
              resolve({
                kind: "response",
                status: res.statusCode ?? 0,
                location: res.headers.location ?? null,
                body,
              });
          },
          (err: unknown) => {
            resolve({ kind: "error", message: `reading the body: ${(err as Error).message}` });
          },
        );
      },
    );
    req.on("timeout", () => {
      req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`));
    });
    req.on("error", (err) => {
      const code = codeOf(err);
      resolve({
        kind: "error",
        message: `${err.message}${code !== "" && !err.message.includes(code) ? ` (${code})` : ""}${certificateHint(code)}`,
      });
    });
    req.end();
  });
}

export function hostHb46ppIo(options: Hb46ppHostOptions): Hb46ppIo {
  const ctx: FetchContext = {
    timeoutMs: options.timeoutMs ?? 5000,
    extraCa: options.caFile === undefined ? null : readTextFile(options.caFile, "CA file"),
  };
  const io: Hb46ppIo = {
    resolveTxt: (name, servers) => resolveTxt(ctx, name, servers),
    get: (url, verify, servers, opts) => get(ctx, url, verify, servers, opts),
  };
  return options.resolvers === undefined ? io : { ...io, resolvers: options.resolvers };
}
