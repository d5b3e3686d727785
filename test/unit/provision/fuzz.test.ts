import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { makeRule, ruleSpec } from "../../../src/mape/rule.ts";
import { ByteWriter } from "../../../src/provision/bytes.ts";
import { decodeMessage, encodeMessage, type RawOption } from "../../../src/provision/dhcpv6.ts";
import { Dhcpv6Exchange } from "../../../src/provision/dhcpv6-exchange.ts";
import { DecodeError } from "../../../src/provision/errors.ts";
import {
  hb46ppVerdict,
  parseHb46ppReply,
  parseTxtRecords,
  parseTxtText,
} from "../../../src/provision/hb46pp.ts";
import { queryHb46pp, type HttpAnswer } from "../../../src/provision/hb46pp-flow.ts";
import { mapeRulesFromS46, S46 } from "../../../src/provision/s46.ts";
import { BIGLOBE_REPLY, fixture, regressionFixtures, SPEC_EXAMPLE, TXT } from "./fixtures.ts";

/** Runs per property; MAPECTL_FUZZ_RUNS=100000 for a long session. */
const RUNS = Number(process.env.MAPECTL_FUZZ_RUNS ?? 2000);

/** Only DecodeError may escape a parser; anything else (RangeError, TypeError, MapeError) is a bug. */
function decodesOrDecodeError<T>(fn: () => T): T | DecodeError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
}

/** A decoded message must be whole: its MAP-E rules validate end to end or fail as one DecodeError. */
function checkMessage(bytes: Uint8Array): void {
  const m = decodesOrDecodeError(() => decodeMessage(bytes));
  if (m instanceof DecodeError) {
    assert.equal(m.input, "dhcpv6");
    assert.ok(m.field.length > 0 && m.reason.length > 0);
    return;
  }
  assert.deepEqual(decodeMessage(bytes), m, "decoding is deterministic");
  if (m.mapE !== null) {
    const rules = decodesOrDecodeError(() => mapeRulesFromS46(m.mapE ?? { rules: [], brs: [], ignored: [] }));
    if (!(rules instanceof DecodeError)) {
      assert.equal(rules.length, m.mapE.rules.length);
      for (const rule of rules)
        assert.deepEqual(makeRule(ruleSpec(rule)), rule, "a returned rule is a valid core rule");
    }
  }
}

const FIXTURES = [
  ...["kea-reply-mape.hex", "kea-reply-explicit-psid.hex", "kea-advertise-mape-pd.hex"].map(fixture),
  ...regressionFixtures().map(([, bytes]) => bytes),
];

/** What each kept regression input must give: the field of the DecodeError, from the message or its rules. */
const REGRESSIONS: Readonly<Record<string, string>> = {
  "br-unspecified.hex": "rules: OPTION_S46_CONT_MAPE.S46_RULE[0]",
  "empty-mape-container.hex": "rules: OPTION_S46_CONT_MAPE",
  "prefix6-len-overlong.hex": "message: OPTION_S46_CONT_MAPE.S46_RULE[0].prefix6-len",
  "right-aligned-psid.hex": "message: OPTION_S46_CONT_MAPE.S46_RULE[0].S46_PORTPARAMS.PSID",
  "rule-length-past-end.hex": "message: OPTION_S46_CONT_MAPE.S46_RULE",
  "truncated-header.hex": "message: message.transaction-id",
};

type Mutation =
  | { kind: "flip"; pos: number; bit: number }
  | { kind: "set"; pos: number; value: number }
  | { kind: "insert"; pos: number; value: number }
  | { kind: "delete"; pos: number }
  | { kind: "truncate"; pos: number }
  | { kind: "length"; pos: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("delete" as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), pos: fc.nat() }),
  // Lengths are 16-bit fields: overwrite two bytes with a small or a huge number.
  fc.record({
    kind: fc.constant("length" as const),
    pos: fc.nat(),
    value: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 0xffff })),
  }),
);

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Array.from(input);
  for (const m of mutations) {
    const pos = bytes.length === 0 ? 0 : m.pos % (bytes.length + (m.kind === "insert" ? 1 : 0));
    switch (m.kind) {
      case "flip":
        if (bytes.length > 0) bytes[pos] = (bytes[pos] ?? 0) ^ (1 << m.bit);
        break;
      case "set":
        if (bytes.length > 0) bytes[pos] = m.value;
        break;
      case "insert":
        bytes.splice(pos, 0, m.value);
        break;
      case "delete":
        bytes.splice(pos, 1);
        break;
      case "truncate":
        bytes = bytes.slice(0, pos);
        break;
      case "length":
        if (bytes.length > 1) {
          bytes[pos] = m.value >> 8;
          bytes[(pos + 1) % bytes.length] = m.value & 255;
        }
        break;
    }
  }
  return Uint8Array.from(bytes);
}

const INTERESTING_CODES = [
  1, 2, 6, 7, 8, 13, 14, 23, 25, 26, 32, 82, 83, 89, 90, 91, 92, 93, 94, 95, 96, 9999,
];

/** Random but well-framed options, so the fuzzer reaches the inner decoders, nested two deep. */
const option: fc.Arbitrary<RawOption> = fc.letrec((tie) => ({
  leaf: fc.record({ code: fc.constantFrom(...INTERESTING_CODES), data: fc.uint8Array({ maxLength: 40 }) }),
  nested: fc
    .record({
      code: fc.constantFrom(S46.contMape, S46.contMapt, S46.contLw, S46.rule, 25, 26, 92),
      children: fc.array(tie("any") as fc.Arbitrary<RawOption>, { maxLength: 4 }),
      head: fc.uint8Array({ maxLength: 25 }),
    })
    .map(({ code, children, head }): RawOption => {
      const w = new ByteWriter().bytes(head);
      for (const c of children) w.option(c.code, c.data);
      return { code, data: w.toBytes() };
    }),
  any: fc.oneof(
    { depthSize: "small" },
    tie("leaf") as fc.Arbitrary<RawOption>,
    tie("nested") as fc.Arbitrary<RawOption>,
  ),
})).any;

test(`DHCPv6: random bytes give a message or a DecodeError (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      checkMessage(bytes);
    }),
    { numRuns: RUNS },
  );
});

test(`DHCPv6: random well-framed options reach every decoder and never crash (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 0, max: 0xffffff }),
      fc.array(option, { maxLength: 6 }),
      (type, xid, opts) => {
        checkMessage(encodeMessage(type, xid, opts));
      },
    ),
    { numRuns: RUNS },
  );
});

test(`DHCPv6: mutations of Kea's real answers give a message or a DecodeError (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FIXTURES),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (input, mutations) => {
        checkMessage(mutate(input, mutations));
      },
    ),
    { numRuns: RUNS },
  );
});

test(`DHCPv6 client: a mutated answer never throws out of the exchange (${RUNS} runs)`, () => {
  const reply = fixture("kea-reply-mape.hex");
  fc.assert(
    fc.property(fc.array(mutation, { maxLength: 4 }), (mutations) => {
      const ex = new Dhcpv6Exchange({
        kind: "information-request",
        // The fixture's transaction id and client id, so mutations get past the cheap checks.
        clientDuid: decodeMessage(reply).clientId?.bytes ?? new Uint8Array(0),
        transactionId: 0xd86b56,
        maxDurationMs: 1000,
        initialDelayMs: 0,
        random: () => 0.5,
      });
      ex.start(0);
      ex.timeout(0);
      const bytes = mutate(reply, mutations);
      const step = ex.receive(bytes, 1);
      if (step.done && step.result.ok) assert.ok(step.result.message.serverId !== null);
    }),
    { numRuns: RUNS },
  );
});

test("DHCPv6: every kept regression input fails with the DecodeError it must", () => {
  const kept = regressionFixtures();
  assert.deepEqual(
    kept.map(([name]) => name),
    Object.keys(REGRESSIONS).sort(),
  );
  for (const [name, bytes] of kept) {
    checkMessage(bytes);
    let got = "decoded";
    const m = decodesOrDecodeError(() => decodeMessage(bytes));
    if (m instanceof DecodeError) got = `message: ${m.field}`;
    else {
      const rules = decodesOrDecodeError(() =>
        mapeRulesFromS46(m.mapE ?? { rules: [], brs: [], ignored: [] }),
      );
      if (rules instanceof DecodeError) got = `rules: ${rules.field}`;
    }
    assert.equal(got, REGRESSIONS[name], name);
  }
});

function jsonMutations(doc: unknown): fc.Arbitrary<unknown> {
  // Replace, delete or retype one value somewhere in the document.
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    paths.push(path);
    if (Array.isArray(v))
      v.forEach((x, i) => {
        walk(x, [...path, i]);
      });
    else if (typeof v === "object" && v !== null)
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(doc, []);
  return fc
    .tuple(fc.constantFrom(...paths), fc.oneof(fc.jsonValue(), fc.constant(undefined)), fc.boolean())
    .map(([path, value, remove]) => {
      const copy = structuredClone(doc) as Record<string | number, unknown>;
      if (path.length === 0) return value;
      let parent: Record<string | number, unknown> = copy;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      const last = path[path.length - 1] as string | number;
      if (remove && !Array.isArray(parent)) Reflect.deleteProperty(parent, last);
      else parent[last] = value;
      return copy;
    });
}

/** JSON text of any value; undefined (a mutation may remove the whole document) gives "". */
function jsonText(value: unknown): string {
  return value === undefined ? "" : JSON.stringify(value);
}

function checkReply(body: string | Uint8Array): void {
  const r = decodesOrDecodeError(() => parseHb46ppReply(body));
  if (r instanceof DecodeError) {
    assert.equal(r.input, "hb46pp-reply");
    return;
  }
  assert.ok(Array.isArray(r.order));
  assert.ok(r.ttl === null || (Number.isInteger(r.ttl) && r.ttl >= 0 && r.ttl <= 604800));
  if (r.mapE !== null) for (const rule of r.mapE.rules) assert.deepEqual(makeRule(ruleSpec(rule)), rule);
  hb46ppVerdict(r);
}

test(`HB46PP: random JSON, random text and random bytes as a body (${RUNS} runs each)`, () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      checkReply(jsonText(v));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      checkReply(s);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      checkReply(b);
    }),
    { numRuns: RUNS },
  );
});

test(`HB46PP: mutations of valid answers give an answer or a DecodeError naming a field (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.oneof(jsonMutations(SPEC_EXAMPLE), jsonMutations(BIGLOBE_REPLY)), (doc) => {
      checkReply(jsonText(doc));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      checkReply(mutate(new TextEncoder().encode(JSON.stringify(BIGLOBE_REPLY)), mutations));
    }),
    { numRuns: RUNS },
  );
});

test(`HB46PP: random and mutated TXT records (${RUNS} runs each)`, () => {
  const checkTxt = (fn: () => unknown): void => {
    const r = decodesOrDecodeError(fn);
    if (r instanceof DecodeError) assert.equal(r.input, "hb46pp-txt");
  };
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.string({ maxLength: 80 }), { maxLength: 3 }), { maxLength: 3 }),
      (records) => {
        checkTxt(() => parseTxtRecords(records));
      },
    ),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
      const text = new TextDecoder().decode(mutate(new TextEncoder().encode(TXT), mutations));
      checkTxt(() => parseTxtText(text));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.constantFrom("v", "url", "t", "x"), fc.string({ maxLength: 60 }), (key, value) => {
      checkTxt(() => parseTxtText(`v=v6mig-1 url=https://prov.example.jp/config t=b ${key}=${value}`));
      checkTxt(() => parseTxtText(`v=v6mig-1 url=${value} t=a`));
    }),
    { numRuns: RUNS },
  );
});

test(`HB46PP flow: arbitrary DNS and HTTP answers never throw (${Math.ceil(RUNS / 4)} runs)`, async () => {
  const answerArb: fc.Arbitrary<HttpAnswer> = fc.oneof(
    fc.record({
      kind: fc.constant("response" as const),
      status: fc.constantFrom(200, 204, 301, 307, 308, 403, 404, 500),
      location: fc.option(fc.oneof(fc.constant("/config"), fc.webUrl(), fc.string({ maxLength: 30 }))),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 60 }),
        fc.jsonValue().map((v) => new TextEncoder().encode(jsonText(v))),
      ),
    }),
    fc.record({ kind: fc.constant("error" as const), message: fc.string({ maxLength: 30 }) }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.constant(TXT), fc.string({ maxLength: 80 })),
      fc.array(answerArb, { minLength: 1, maxLength: 8 }),
      async (record, answers) => {
        let i = 0;
        const out = await queryHb46pp(
          {
            resolveTxt: () => Promise.resolve({ kind: "records", records: [[record]] }),
            get: () =>
              Promise.resolve(
                answers[Math.min(i++, answers.length - 1)] ?? { kind: "error", message: "none" },
              ),
          },
          { identity: { vendorId: "acde48", product: "p", version: "1" } },
        );
        assert.ok(out.retry.minSeconds <= out.retry.maxSeconds);
        assert.ok(out.message.length > 0);
      },
    ),
    { numRuns: Math.ceil(RUNS / 4) },
  );
});
