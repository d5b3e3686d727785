/**
 * The read-only web page's HTTP side (node:http): two pages and /api/status. Loopback by default;
 * every response forbids framing, sniffing and caching, and a request whose Host is a name other
 * than localhost is refused, so a web site cannot rebind its name to this address and read it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { parseIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, parseIpv6 } from "../mape/ipv6.ts";
import type { WebPages } from "../web/assets.ts";
import type { Page } from "../web/pages.ts";

export interface ListenAddress {
  /** An IPv4 or IPv6 literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_LISTEN = "127.0.0.1:8146";

function ipv4(text: string): number | null {
  try {
    return parseIpv4(text);
  } catch {
    return null;
  }
}

function ipv6(text: string): bigint | null {
  try {
    return parseIpv6(text);
  } catch {
    return null;
  }
}

/** "ADDRESS:PORT" with an IPv4 literal, or "[ADDRESS]:PORT" with an IPv6 one; port 0 picks a free one. */
export function parseListen(text: string): ListenAddress | null {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  const v6 = match[1];
  if (v6 !== undefined) {
    const value = ipv6(v6);
    return value === null ? null : { host: formatIpv6(value), port };
  }
  const v4 = match[2] ?? "";
  return ipv4(v4) === null ? null : { host: v4, port };
}

export function formatListen(address: ListenAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** 127.0.0.0/8 and ::1 (and ::ffff:127.x): reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const v4 = ipv4(host);
  if (v4 !== null) return v4 >>> 24 === 127;
  const v6 = ipv6(host);
  if (v6 === null) return false;
  return v6 === 1n || (v6 >> 32n === 0xffffn && Number(v6 & 0xffffffffn) >>> 24 === 127);
}

/**
 * A browser sends the name it connected to; only "localhost" and address literals are accepted,
 * since a DNS-rebinding attack needs a name of the attacker's own.
 */
export function hostAllowed(header: string | undefined): boolean {
  if (header === undefined) return true;
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::[0-9]{1,5})?$/.exec(header.trim());
  if (match === null) return false;
  if (match[1] !== undefined) return ipv6(match[1]) !== null;
  const name = (match[2] ?? "").toLowerCase();
  return name === "localhost" || ipv4(name) !== null;
}

export interface WebServerOptions {
  readonly listen: ListenAddress;
  readonly pages: WebPages;
  /** The /api/status body; called for each request, so the caller caches. */
  readonly status: () => Promise<unknown>;
}

export interface RunningWebServer {
  readonly address: ListenAddress;
  readonly url: string;
  close(): Promise<void>;
}

const COMMON_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
} as const;

const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'";

interface Prepared {
  readonly page: Page;
  readonly plain: Buffer;
  readonly gzip: Buffer;
}

function prepare(page: Page): Prepared {
  const plain = Buffer.from(page.html, "utf8");
  return { page, plain, gzip: gzipSync(plain) };
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
): void {
  response.writeHead(status, { ...COMMON_HEADERS, "Content-Length": String(body.length), ...headers });
  response.end(request.method === "HEAD" ? undefined : body);
}

function sendText(request: IncomingMessage, response: ServerResponse, status: number, text: string): void {
  send(
    request,
    response,
    status,
    { "Content-Type": "text/plain; charset=utf-8", "Content-Security-Policy": NON_PAGE_CSP },
    Buffer.from(`${text}\n`, "utf8"),
  );
}

function sendPage(request: IncomingMessage, response: ServerResponse, prepared: Prepared): void {
  const gzip = /\bgzip\b/.test(request.headers["accept-encoding"] ?? "");
  send(
    request,
    response,
    200,
    {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": prepared.page.csp,
      Vary: "Accept-Encoding",
      ...(gzip ? { "Content-Encoding": "gzip" } : {}),
    },
    gzip ? prepared.gzip : prepared.plain,
  );
}

async function sendStatus(
  request: IncomingMessage,
  response: ServerResponse,
  status: () => Promise<unknown>,
): Promise<void> {
  let body: string;
  try {
    body = JSON.stringify(await status());
  } catch (err) {
    sendText(request, response, 500, `status failed: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  send(
    request,
    response,
    200,
    { "Content-Type": "application/json; charset=utf-8", "Content-Security-Policy": NON_PAGE_CSP },
    Buffer.from(body, "utf8"),
  );
}

export function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const pages = { status: prepare(options.pages.status), calc: prepare(options.pages.calc) };
  const server = createServer((request, response) => {
    if (!hostAllowed(request.headers.host)) {
      sendText(request, response, 421, "mapectl serve answers only to localhost and IP addresses");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      sendText(request, response, 405, "read-only: only GET and HEAD");
      return;
    }
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    switch (path) {
      case "/":
        sendPage(request, response, pages.status);
        return;
      case "/calc":
        sendPage(request, response, pages.calc);
        return;
      case "/api/status":
        void sendStatus(request, response, options.status);
        return;
      default:
        sendText(request, response, 404, "not found: the pages are / and /calc, the data /api/status");
    }
  });
  // a slow or stuck client must not hold the server: the page's requests are small
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.listen.host, port: options.listen.port, exclusive: true }, () => {
      server.off("error", reject);
      const bound = server.address() as AddressInfo;
      const address = { host: options.listen.host, port: bound.port };
      resolve({
        address,
        url: `http://${formatListen(address)}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
