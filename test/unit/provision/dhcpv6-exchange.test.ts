import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeMessage, MessageType, options as opt } from "../../../src/provision/dhcpv6.ts";
import {
  Dhcpv6Exchange,
  INFORMATION_REQUEST_PARAMS,
  nextRetransmissionTime,
  runExchange,
  type ExchangeOptions,
} from "../../../src/provision/dhcpv6-exchange.ts";
import { queryDhcpv6, type Dhcpv6Io } from "../../../src/provision/dhcpv6-source.ts";
import { fromHex } from "../../../src/provision/bytes.ts";
import { ADVERTISE, answer, CLIENT_DUID, FakeLink, MAPE_OPTION, REPLY } from "./fake-dhcpv6.ts";

function options(extra: Partial<ExchangeOptions> = {}): ExchangeOptions {
  return {
    kind: "information-request",
    clientDuid: CLIENT_DUID,
    transactionId: 0x123456,
    maxDurationMs: 10_000,
    initialDelayMs: 0,
    // RAND = 0: the schedule is exactly IRT, 2·IRT, …
    random: () => 0.5,
    ...extra,
  };
}

test("RFC 8415 §15: RT starts at IRT, doubles, and is capped at MRT, each ±10 %", () => {
  const p = { irt: 1000, mrt: 4000, mrc: 0, mrd: 0 };
  assert.equal(nextRetransmissionTime(null, p, 0), 1000);
  assert.equal(nextRetransmissionTime(null, p, 0.1), 1100);
  assert.equal(nextRetransmissionTime(null, p, -0.1), 900);
  assert.equal(nextRetransmissionTime(1000, p, 0), 2000);
  assert.equal(nextRetransmissionTime(2000, p, 0.1), 4000 + 400);
  assert.equal(nextRetransmissionTime(3000, p, -0.1), 4000 - 400);
  fc.assert(
    fc.property(
      fc.double({ min: -0.1, max: 0.1, noNaN: true }),
      fc.integer({ min: 900, max: 3_960_000 }),
      (rand, prev) => {
        const rt = nextRetransmissionTime(prev, INFORMATION_REQUEST_PARAMS, rand);
        const mrt = INFORMATION_REQUEST_PARAMS.mrt;
        const doubled = 2 * prev + rand * prev;
        return doubled > mrt ? rt === mrt + rand * mrt : rt === doubled;
      },
    ),
  );
});

test("with no server: Information-requests at 0, 1, 3, 7 s and a clear give-up at the bound", async () => {
  const link = new FakeLink();
  const result = await runExchange(link, link.clock, options());
  assert.deepEqual(
    link.sent.map((s) => s.at),
    [0, 1000, 3000, 7000],
  );
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.reason, "no-answer");
  assert.equal(result.transmissions, 4);
  assert.match(result.detail, /no answer from a DHCPv6 server in 10\.0 s \(4 Information-requests\)/);
  const sent = link.sent.map((s) => decodeMessage(s.bytes));
  // Same transaction id throughout; Elapsed Time in hundredths since the first message.
  assert.deepEqual(
    sent.map((m) => m.transactionId),
    [0x123456, 0x123456, 0x123456, 0x123456],
  );
  assert.deepEqual(
    sent.map((m) => m.elapsedTime),
    [0, 100, 300, 700],
  );
  for (const m of sent) {
    assert.equal(m.type, MessageType.informationRequest);
    assert.deepEqual(m.oro?.slice(0, 1), [94]);
    assert.ok(m.oro.includes(83), "INF_MAX_RT is requested");
    assert.deepEqual(m.clientId?.bytes, CLIENT_DUID);
  }
});

test("randomised retransmission times stay within ±10 % of the doubling schedule", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 8, maxLength: 8 }),
      async (draws) => {
        let i = 0;
        const link = new FakeLink();
        await runExchange(link, link.clock, options({ random: () => draws[i++ % draws.length] ?? 0 }));
        const gaps = link.sent.slice(1).map((s, k) => s.at - (link.sent[k]?.at ?? 0));
        let expected = 1000;
        for (const gap of gaps) {
          if (gap < 0.9 * expected - 1e-6 || gap > 1.1 * expected + 1e-6) return false;
          expected = gap * 2;
        }
        return true;
      },
    ),
    { numRuns: 200 },
  );
});

test("a Reply is accepted only with our transaction id, our DUID and a server DUID", async () => {
  const link = new FakeLink((req) => [
    { delay: 5, bytes: answer(req, REPLY, [MAPE_OPTION], { xid: 0x654321 }) },
    { delay: 6, bytes: answer(req, REPLY, [MAPE_OPTION], { clientId: fromHex("00030001020000000001") }) },
    { delay: 7, bytes: answer(req, REPLY, [MAPE_OPTION], { serverId: null }) },
    { delay: 8, bytes: answer(req, ADVERTISE, [MAPE_OPTION]) },
    { delay: 9, bytes: Uint8Array.of(7, 0x12) },
    { delay: 20, bytes: answer(req, REPLY, [MAPE_OPTION]) },
  ]);
  const result = await runExchange(link, link.clock, options());
  assert.ok(result.ok);
  assert.equal(result.elapsedMs, 20);
  assert.equal(result.transmissions, 1);
  assert.equal(result.ignored.length, 5);
  assert.match(result.ignored[0]?.reason ?? "", /transaction-id 0x654321 is not this exchange's 0x123456/);
  assert.match(result.ignored[1]?.reason ?? "", /OPTION_CLIENTID is not ours/);
  assert.match(result.ignored[2]?.reason ?? "", /without OPTION_SERVERID/);
  assert.match(result.ignored[3]?.reason ?? "", /Advertise is not an answer to Information-request/);
  assert.match(result.ignored[4]?.reason ?? "", /too short/);
  assert.ok(result.message.mapE !== null);
});

test("only malformed answers: the exchange ends with the DecodeError, not a half-used reply", async () => {
  const link = new FakeLink((req) => {
    const good = answer(req, REPLY, [MAPE_OPTION]);
    // Cut the S46_BR short while keeping the outer lengths consistent up to it.
    const bad = good.slice(0, good.length - 1);
    return [{ delay: 3, bytes: bad }];
  });
  const result = await runExchange(link, link.clock, options({ maxDurationMs: 2500 }));
  assert.ok(!result.ok);
  assert.equal(result.reason, "malformed");
  assert.match(
    result.detail,
    /the only answers were malformed: message\.OPTION_S46_CONT_MAPE: option-len 45/,
  );
  assert.ok(result.decodeError !== null);
});

test("a Reply with an error status ends the exchange with that status", async () => {
  const link = new FakeLink((req) => [{ delay: 1, bytes: answer(req, REPLY, [opt.status(1, "try later")]) }]);
  const result = await runExchange(link, link.clock, options());
  assert.ok(!result.ok);
  assert.equal(result.reason, "status");
  assert.equal(result.detail, "the server answered UnspecFail: try later");
});

test("the initial delay comes before the first message and is bounded by INF_MAX_DELAY", async () => {
  const link = new FakeLink((req) => [{ delay: 2, bytes: answer(req, REPLY, [MAPE_OPTION]) }]);
  const result = await runExchange(link, link.clock, options({ initialDelayMs: 640 }));
  assert.equal(link.sent[0]?.at, 640);
  assert.ok(result.ok);
  assert.equal(result.elapsedMs, 2);
});

test("Solicit: Advertises are collected during the first RT and the most preferred wins", async () => {
  const link = new FakeLink((req, at) =>
    at > 0
      ? []
      : [
          {
            delay: 10,
            bytes: answer(req, ADVERTISE, [opt.preference(10)], {
              serverId: fromHex("00030001020000000010"),
            }),
          },
          { delay: 20, bytes: answer(req, ADVERTISE, [opt.preference(200), MAPE_OPTION]) },
          { delay: 30, bytes: answer(req, ADVERTISE, [], { serverId: fromHex("00030001020000000030") }) },
        ],
  );
  const result = await runExchange(link, link.clock, options({ kind: "solicit", random: () => 0 }));
  assert.ok(result.ok);
  assert.equal(result.message.preference, 200);
  // First RT for Solicit has RAND > 0 (RFC 8415 §15): just over 1 s.
  assert.ok(result.elapsedMs > 1000 && result.elapsedMs <= 1100, String(result.elapsedMs));
  const solicit = decodeMessage(link.sent[0]?.bytes ?? new Uint8Array());
  assert.equal(solicit.type, MessageType.solicit);
  assert.equal(solicit.iaPd.length, 1);
  assert.ok(solicit.oro?.includes(82), "SOL_MAX_RT is requested");
});

test("Solicit: preference 255 ends the wait at once; after the first RT any Advertise does", async () => {
  const at255 = new FakeLink((req) => [{ delay: 15, bytes: answer(req, ADVERTISE, [opt.preference(255)]) }]);
  const r1 = await runExchange(at255, at255.clock, options({ kind: "solicit" }));
  assert.ok(r1.ok);
  assert.equal(r1.elapsedMs, 15);
  const late = new FakeLink((req, at) =>
    at === 0 ? [] : [{ delay: 40, bytes: answer(req, ADVERTISE, []) }],
  );
  const r2 = await runExchange(late, late.clock, options({ kind: "solicit", random: () => 0 }));
  assert.ok(r2.ok);
  assert.equal(r2.transmissions, 2);
});

test("the state machine refuses to go on after it has finished", () => {
  const ex = new Dhcpv6Exchange(options({ maxDurationMs: 1 }));
  ex.start(0);
  ex.timeout(0);
  const end = ex.timeout(5);
  assert.ok(end.done);
  assert.throws(() => ex.timeout(6), /finished/);
});

test("queryDhcpv6 turns a Reply into validated rules and closes the socket", async () => {
  const link = new FakeLink((req) => [
    { delay: 3, bytes: answer(req, REPLY, [MAPE_OPTION, opt.dnsServers(["2001:db8:53::1"])]) },
  ]);
  const io: Dhcpv6Io = {
    open: () => Promise.resolve({ ok: true, transport: link, duid: CLIENT_DUID, bound: "[fe80::1%wan]:546" }),
    clock: link.clock,
    random: () => 0.5,
  };
  const out = await queryDhcpv6(io, { noInitialDelay: true });
  assert.equal(out.status, "ok");
  assert.equal(out.rules.length, 1);
  assert.deepEqual(out.brs, ["2001:db8:ffff::1"]);
  assert.deepEqual(out.fmr, [true]);
  assert.deepEqual(out.dnsServers, ["2001:db8:53::1"]);
  assert.ok(link.closed);
});

test("queryDhcpv6 reports a server without MAP-E, a MAP-T line, and a busy port", async () => {
  const run = async (extra: Parameters<typeof answer>[2]): Promise<string> => {
    const link = new FakeLink((req) => [{ delay: 1, bytes: answer(req, REPLY, extra) }]);
    const io: Dhcpv6Io = {
      open: () => Promise.resolve({ ok: true, transport: link, duid: CLIENT_DUID, bound: "x" }),
      clock: link.clock,
      random: () => 0.5,
    };
    const out = await queryDhcpv6(io, { noInitialDelay: true });
    return `${out.status}: ${out.message}`;
  };
  assert.match(await run([]), /^no-map-e: the Reply has no OPTION_S46_CONT_MAPE/);
  const { encodeMaptContainer, S46 } = await import("../../../src/provision/s46.ts");
  const mapt = opt.raw(
    S46.contMapt,
    encodeMaptContainer(
      [{ eaLength: 8, ipv4Prefix: "203.0.113.32/28", ipv6Prefix: "2001:db8:5:100::/56" }],
      "2001:db8:5::/64",
    ),
  );
  assert.match(
    await run([mapt]),
    /^not-map-e: the Reply provisions MAP-T \(rule 2001:db8:5:100::\/56 → 203\.0\.113\.32\/28, DMR 2001:db8:5::\/64\)/,
  );
  const busy = await queryDhcpv6(
    {
      open: () =>
        Promise.resolve({ ok: false, status: "port-in-use", message: "port 546 is used by dhcp6c" }),
      clock: { now: () => 0 },
      random: Math.random,
    },
    {},
  );
  assert.equal(busy.status, "port-in-use");
});
