import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import {
  formatListen,
  hostAllowed,
  isLoopback,
  parseListen,
  startWebServer,
  type RunningWebServer,
} from "../../../src/daemon/web-server.ts";
import { calcPage, statusPage } from "../../../src/web/pages.ts";

test("--listen takes an IP literal and a port, IPv6 in brackets", () => {
  assert.deepEqual(parseListen("127.0.0.1:8146"), { host: "127.0.0.1", port: 8146 });
  assert.deepEqual(parseListen("0.0.0.0:0"), { host: "0.0.0.0", port: 0 });
  assert.deepEqual(parseListen("[::1]:8146"), { host: "::1", port: 8146 });
  assert.deepEqual(parseListen("[2001:DB8:0::1]:80"), { host: "2001:db8::1", port: 80 });
  for (const bad of [
    "",
    "8146",
    "127.0.0.1",
    "127.0.0.1:",
    ":8146",
    "localhost:8146",
    "127.0.0.1:65536",
    "127.0.0.1:123456",
    "127.0.0.01:8146",
    "::1:8146",
    "[::1]",
    "[::1]:x",
    "[fe80::1%eth0]:80",
    "1.2.3:80",
    "127.0.0.1:8146 ",
  ]) {
    assert.equal(parseListen(bad), null, bad);
  }
  assert.equal(formatListen({ host: "::1", port: 80 }), "[::1]:80");
  assert.equal(formatListen({ host: "127.0.0.1", port: 80 }), "127.0.0.1:80");
});

test("loopback is 127/8 and ::1 only", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) assert.ok(isLoopback(host), host);
  for (const host of ["0.0.0.0", "::", "192.168.1.1", "128.0.0.1", "::2", "fe80::1"]) {
    assert.ok(!isLoopback(host), host);
  }
});

test("only localhost and address literals are accepted as Host (no DNS rebinding)", () => {
  for (const host of [
    undefined,
    "127.0.0.1:8146",
    "localhost:8146",
    "LOCALHOST",
    "[::1]:8146",
    "192.168.1.1",
  ]) {
    assert.ok(hostAllowed(host), String(host));
  }
  for (const host of [
    "evil.example",
    "evil.example:8146",
    "127.0.0.1.nip.io:8146",
    "localhost.evil:1",
    "[::1",
    "",
  ]) {
    assert.ok(!hostAllowed(host), host);
  }
});

let server: RunningWebServer;
let statusCalls = 0;

before(async () => {
  server = await startWebServer({
    listen: { host: "127.0.0.1", port: 0 },
    pages: { status: statusPage("void 0;"), calc: calcPage("void 1;") },
    status: () => {
      statusCalls++;
      return Promise.resolve({ schemaVersion: 1, hello: "ロ" });
    },
  });
});

after(async () => {
  await server.close();
});

function get(
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.address.port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("the pages come with their policy and the hardening headers", async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  for (const [path, page] of [
    ["/", statusPage("void 0;")],
    ["/calc", calcPage("void 1;")],
  ] as const) {
    const r = await get(path);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(r.headers["content-security-policy"], page.csp);
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["x-frame-options"], "DENY");
    assert.equal(r.headers["cache-control"], "no-store");
    assert.equal(r.body.toString("utf8"), page.html);
  }
  const zipped = await get("/calc", { headers: { "accept-encoding": "gzip, br" } });
  assert.equal(zipped.headers["content-encoding"], "gzip");
  assert.equal(gunzipSync(zipped.body).toString("utf8"), calcPage("void 1;").html);
});

test("/api/status is the source's JSON, read on each request", async () => {
  const before = statusCalls;
  const r = await get("/api/status?t=1");
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "application/json; charset=utf-8");
  assert.deepEqual(JSON.parse(r.body.toString("utf8")), { schemaVersion: 1, hello: "ロ" });
  assert.equal(statusCalls, before + 1);
});

test("read-only, no other paths, and a foreign Host name is refused", async () => {
  const head = await get("/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  const post = await get("/api/status", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, "GET, HEAD");
  assert.equal((await get("/etc/passwd")).status, 404);
  assert.equal((await get("/../calc")).status, 404);
  const rebound = await get("/api/status", { headers: { host: "attacker.example:8146" } });
  assert.equal(rebound.status, 421);
  assert.doesNotMatch(rebound.body.toString("utf8"), /hello/);
  assert.equal((await get("/", { headers: { host: "localhost:8146" } })).status, 200);
});

test("a taken port is an error from startWebServer, not a crash", async () => {
  await assert.rejects(
    startWebServer({
      listen: server.address,
      pages: { status: statusPage(""), calc: calcPage("") },
      status: () => Promise.resolve({}),
    }),
    (err: NodeJS.ErrnoException) => err.code === "EADDRINUSE",
  );
});
