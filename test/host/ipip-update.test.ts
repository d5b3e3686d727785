import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { Netns } from "../helpers/netns.ts";
import { Background, cleanup, line, skip } from "./provision-servers.ts";

// The update client against the lab's update server (lab/ipip-update-server.mjs), each in its own
// namespace: the client in "ce", the server in "ngn", joined by a veth pair.

const SERVER = fileURLToPath(new URL("../../lab/ipip-update-server.mjs", import.meta.url));
const CALL = fileURLToPath(new URL("./fixtures/ipip-update-call.ts", import.meta.url));
const SERVER_ADDRESS = "2001:db8:7::1";
const PASSWORD = "pa&ss word/?#";
const PLAN = { ceAddress: "2001:db8:1200:3400:1234:5678:9abc:def0", ipv4Address: "203.0.113.9" };
let ce: Netns;
let ngn: Netns;
let dir: string;

async function server(port: number, hang = false): Promise<string> {
  const log = join(dir, `update-${port}.log`);
  const config = join(dir, `update-${port}.json`);
  writeFileSync(
    config,
    JSON.stringify({ listen: SERVER_ADDRESS, port, accounts: { u1: PASSWORD }, log, hook: null, hang }),
  );
  const s = new Background(ngn, [process.execPath, SERVER, config]);
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      if (readFileSync(log, "utf8").includes("listening")) return log;
    } catch {
      // not written yet
    }
    if (Date.now() > end) throw new Error(`update server not ready: ${s.output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function call(url: string, password: string, timeoutMs = 5000): { kind: string; detail: string; ms: number } {
  const input = JSON.stringify({
    plan: { ...PLAN, update: { url, intervalSeconds: 3600 } },
    prefix: "2001:db8:1200:3400::/56",
    account: { user: "u1", password },
    timeoutMs,
  });
  const r = ce.run([process.execPath, "--import", "tsx", CALL], input);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { kind: string; detail: string; ms: number };
}

before(async () => {
  if (skip !== false) return;
  ({ dir, ce, ngn } = await line("ipipupd", "2001:db8:7::2", [SERVER_ADDRESS]));
});
after(cleanup);

const QUERY = `http://[${SERVER_ADDRESS}]:8080/update?user={user}&pass={password}&ipv6={ipv6}&prefix={prefix}&ipv4={ipv4}`;

test(
  "the right account registers the CE address, prefix and IPv4, each value arriving as it was",
  { skip },
  async () => {
    const log = await server(8080);
    const v = call(QUERY, PASSWORD);
    assert.equal(v.kind, "registered", v.detail);
    assert.equal(v.detail, `HTTP 200: OK ${PLAN.ceAddress}`);
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(
      entries
        .filter((e) => e.registered !== undefined)
        .map(({ registered, ipv6, ipv4, prefix }) => ({ registered, ipv6, ipv4, prefix })),
      [{ registered: "u1", ipv6: PLAN.ceAddress, ipv4: PLAN.ipv4Address, prefix: "2001:db8:1200:3400::/56" }],
    );
    // without {password} in the template the account goes as Basic authentication
    const basic = call(`http://[${SERVER_ADDRESS}]:8080/update?ipv6={ipv6}`, PASSWORD);
    assert.equal(basic.kind, "registered", basic.detail);
  },
);

test("a wrong password is refused, and nothing the client reports holds it", { skip }, () => {
  const v = call(QUERY, "wrong-Secret-9");
  assert.equal(v.kind, "refused");
  assert.equal(v.detail, "HTTP 401: NG: authentication failed");
  assert.doesNotMatch(JSON.stringify(v), /wrong-Secret-9/);
});

test(
  "a server that never answers is cut off at the deadline; a closed port fails at once",
  { skip },
  async () => {
    await server(8081, true);
    const hung = call(`http://[${SERVER_ADDRESS}]:8081/update?ipv6={ipv6}`, PASSWORD, 1000);
    assert.equal(hung.kind, "failed");
    assert.match(hung.detail, /no answer from the update server in 1 s/);
    assert.ok(hung.ms >= 900 && hung.ms < 3000, `${hung.ms} ms`);
    const closed = call(`http://[${SERVER_ADDRESS}]:8089/update?ipv6={ipv6}`, PASSWORD, 5000);
    assert.equal(closed.kind, "failed");
    assert.match(closed.detail, /ECONNREFUSED/);
  },
);
