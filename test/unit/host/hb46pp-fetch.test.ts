import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { hostHb46ppIo } from "../../../src/host/hb46pp-fetch.ts";

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections();
  for (const s of servers) s.close();
});

/** An HTTP server on ::1 that answers 200 and then sends its body one byte a second, forever. */
async function tricklingServer(): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write("[");
    const timer = setInterval(() => res.write(" "), 1000);
    res.on("close", () => {
      clearInterval(timer);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
  return (server.address() as AddressInfo).port;
}

test("a server trickling one byte a second cannot hold the exchange past its one deadline", async () => {
  const port = await tricklingServer();
  const io = hostHb46ppIo({ timeoutMs: 1500 });
  const started = Date.now();
  const answer = await io.get(`http://[::1]:${port}/config`, false, []);
  const took = Date.now() - started;
  assert.ok(answer.kind === "error");
  assert.match(answer.message, /no answer in 1.5 s \(one deadline for the whole exchange/);
  assert.ok(took < 2500, `took ${took} ms`);
});

test("a redirect target (publicOnly) that is not a global unicast address is not contacted", async () => {
  let contacted = false;
  const server = createServer((_req, res) => {
    contacted = true;
    res.end("[]");
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
  const port = (server.address() as AddressInfo).port;
  const io = hostHb46ppIo({ timeoutMs: 1500 });
  const answer = await io.get(`http://[::1]:${port}/config`, false, [], { publicOnly: true });
  assert.ok(answer.kind === "error");
  assert.match(answer.message, /loopback address: not followed/);
  assert.equal(contacted, false);
});
