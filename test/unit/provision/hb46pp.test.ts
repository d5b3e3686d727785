import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { DecodeError } from "../../../src/provision/errors.ts";
import {
  checkIdentity,
  DEFAULT_IDENTITY,
  hb46ppVerdict,
  parseHb46ppReply,
  parseTxtRecords,
  parseTxtText,
  requestUrl,
} from "../../../src/provision/hb46pp.ts";
import { BIGLOBE_REPLY, decodeErrorOf, SPEC_EXAMPLE } from "./fixtures.ts";

function fails(fn: () => unknown, field: string, reason?: RegExp): DecodeError {
  const caught = decodeErrorOf(fn);
  assert.equal(caught.field, field, caught.message);
  if (reason !== undefined) assert.match(caught.reason, reason);
  return caught;
}

test("the spec's TXT record: url and t=b", () => {
  assert.deepEqual(parseTxtText("v=v6mig-1 url=https://vne.example.jp/rule.cgi t=b"), {
    url: "https://vne.example.jp/rule.cgi",
    verifyCertificate: true,
    warnings: [],
  });
  const plain = parseTxtText("v=v6mig-1 url=http://[2001:db8::80]:8080/cpe/v1/config t=a");
  assert.equal(plain.verifyCertificate, false);
  assert.equal(plain.url, "http://[2001:db8::80]:8080/cpe/v1/config");
});

test("a record split into character-strings is joined; other TXT records are ignored", () => {
  const r = parseTxtRecords([
    ["google-site-verification=abc"],
    ["v=v6mig-1 url=https://prod.v6mig.", "v6connect.net/cpe/v1/config t=b"],
  ]);
  assert.equal(r.url, "https://prod.v6mig.v6connect.net/cpe/v1/config");
});

test("malformed TXT records name what is wrong", () => {
  fails(() => parseTxtRecords([]), "TXT 4over6.info", /no records/);
  fails(() => parseTxtRecords([["spf1 -all"]]), "TXT 4over6.info", /"spf1 -all"/);
  fails(
    () => parseTxtRecords([["v=v6mig-1 url=https://a/ t=b"], ["v=v6mig-1 url=https://b/ t=b"]]),
    "TXT 4over6.info",
    /2 v6mig records/,
  );
  fails(() => parseTxtText("v=v6mig-2 url=https://a/ t=b"), "TXT 4over6.info v", /v6mig-2/);
  fails(() => parseTxtText("v=v6mig-1 t=b"), "TXT 4over6.info url", /missing/);
  fails(() => parseTxtText("v=v6mig-1 url=not a url t=b"), "TXT 4over6.info", /"a" is not key=value/);
  fails(() => parseTxtText("v=v6mig-1 url=://x t=b"), "TXT 4over6.info url", /not a URL/);
  fails(() => parseTxtText("v=v6mig-1 url=ftp://x/ t=a"), "TXT 4over6.info url", /ftp/);
  fails(() => parseTxtText("v=v6mig-1 url=https://u:p@x/ t=b"), "TXT 4over6.info url", /user:password/);
  fails(() => parseTxtText("v=v6mig-1 url=https://x/ t=c"), "TXT 4over6.info t", /"c"/);
  fails(() => parseTxtText("v=v6mig-1 url=http://x/ t=b"), "TXT 4over6.info t", /http means t=a/);
  fails(
    () => parseTxtText("v=v6mig-1 url=https://x/ url=https://y/ t=b"),
    "TXT 4over6.info url",
    /more than once/,
  );
  fails(() => parseTxtText("v=v6mig-1 url=https://x/\u0000 t=b"), "TXT 4over6.info", /control/);
  fails(() => parseTxtText(`v=v6mig-1 url=https://x/${"a".repeat(3000)} t=b`), "TXT 4over6.info", /longer/);
});

test("a record without t= is refused, not read as t=a (no certificate check)", () => {
  assert.throws(
    () => parseTxtText("v=v6mig-1 url=https://x.example/config"),
    /^DecodeError: TXT 4over6\.info t: is missing \(the spec requires t=a or t=b\); not guessing$|TXT 4over6\.info t: is missing/,
  );
});

test("the GET carries vendorid, product, version and capability, after the server's own query", () => {
  const url = requestUrl("https://vne.example.jp/rule.cgi?x=1", { ...DEFAULT_IDENTITY });
  assert.equal(
    url,
    "https://vne.example.jp/rule.cgi?x=1&vendorid=acde48-mapectl&product=mapectl&version=0_1&capability=map_e",
  );
  const token = "a".repeat(64);
  assert.match(requestUrl("https://x/", { ...DEFAULT_IDENTITY, token }), new RegExp(`&token=${token}$`));
});

test("the CE identity is checked against the spec's character sets", () => {
  assert.equal(checkIdentity(DEFAULT_IDENTITY), null);
  assert.equal(checkIdentity({ vendorId: "acde48", product: "mapectl", version: "0_1_0" }), null);
  assert.match(checkIdentity({ ...DEFAULT_IDENTITY, vendorId: "acde4-x" }) ?? "", /OUI/);
  assert.match(checkIdentity({ ...DEFAULT_IDENTITY, vendorId: "acde48-" + "x".repeat(25) }) ?? "", /24/);
  assert.match(checkIdentity({ ...DEFAULT_IDENTITY, product: "a b" }) ?? "", /product/);
  assert.match(checkIdentity({ ...DEFAULT_IDENTITY, version: "1.2" }) ?? "", /version/);
  assert.match(checkIdentity({ ...DEFAULT_IDENTITY, token: "XYZ" }) ?? "", /token/);
});

test("the spec's example answer", () => {
  const r = parseHb46ppReply(JSON.stringify(SPEC_EXAMPLE));
  assert.equal(r.enablerName, "A VNE");
  assert.equal(r.ttl, 86400);
  assert.equal(r.token, SPEC_EXAMPLE.token);
  assert.deepEqual(r.order, ["464xlat", "map_e", "dslite"]);
  assert.ok(r.mapE !== null);
  assert.equal(r.mapE.version, 0);
  assert.equal(r.mapE.ceInterfaceId, "draft-03");
  assert.equal(r.mapE.mesh, true);
  assert.equal(r.mapE.br, "2001:db8:1::1");
  assert.equal(
    formatIpv6Prefix(r.mapE.rules[0]?.ipv6Prefix ?? { value: 0n, length: 0 }),
    "2001:db8:1:2000::/52",
  );
  assert.equal(r.mapE.rules[0]?.psidLength, 4);
  assert.deepEqual(r.dslite, { aftr: "aftr.example.net" });
  assert.equal(r.ipip?.[0]?.ipv4, "203.0.113.0/29");
  assert.deepEqual(r.otherMethods, ["464xlat"]);
  const verdict = hb46ppVerdict(r);
  assert.deepEqual(verdict.kind === "map-e" ? verdict.preferred : null, ["464xlat"]);
});

test("map_e.version 1 means the RFC 7597 interface ID; bytes are accepted as UTF-8", () => {
  const body = new TextEncoder().encode(
    JSON.stringify({ ...BIGLOBE_REPLY, map_e: { ...BIGLOBE_REPLY.map_e, version: 1 } }),
  );
  const r = parseHb46ppReply(body);
  assert.equal(r.mapE?.ceInterfaceId, "rfc7597");
  assert.equal(r.serviceName, "IPv6オプション");
});

test("a TTL over 7 days is cut to 604800 with a warning; a bad token is dropped", () => {
  const r = parseHb46ppReply(JSON.stringify({ ...BIGLOBE_REPLY, ttl: 10_000_000, token: "NOT-HEX" }));
  assert.equal(r.ttl, 604800);
  assert.equal(r.token, null);
  assert.equal(r.warnings.length, 2);
  assert.equal(parseHb46ppReply(JSON.stringify({ ...BIGLOBE_REPLY, ttl: undefined })).ttl, null);
});

test("bodies that are not the spec's JSON name the field", () => {
  fails(() => parseHb46ppReply("<html>Service Unavailable</html>"), "body", /not JSON.*starts "<html>/);
  fails(() => parseHb46ppReply(""), "body", /empty/);
  fails(() => parseHb46ppReply(Uint8Array.of(0xff, 0xfe, 0x7b)), "body", /UTF-8/);
  fails(() => parseHb46ppReply("[1,2]"), "body", /an array/);
  fails(() => parseHb46ppReply("null"), "body", /null/);
  fails(() => parseHb46ppReply("{}"), "order", /missing/);
  fails(() => parseHb46ppReply('{"order":"map_e"}'), "order", /array/);
  fails(() => parseHb46ppReply('{"order":[1]}'), "order[0]", /string/);
  fails(() => parseHb46ppReply('{"order":["map_e"]}'), "map_e", /order lists/);
  fails(() => parseHb46ppReply('{"order":[],"ttl":"1h"}'), "ttl", /whole number/);
  fails(() => parseHb46ppReply('{"order":[],"ttl":-5}'), "ttl");
  const withMapE = (mapE: unknown): string => JSON.stringify({ order: ["map_e"], map_e: mapE });
  const rule = BIGLOBE_REPLY.map_e.rules[0];
  fails(() => parseHb46ppReply(withMapE({ rules: [rule] })), "map_e.br", /missing/);
  fails(
    () => parseHb46ppReply(withMapE({ br: "2001:db8::zz", rules: [rule] })),
    "map_e.br",
    /not an IPv6 address/,
  );
  fails(() => parseHb46ppReply(withMapE({ br: "2001:db8::1" })), "map_e.rules", /missing/);
  fails(() => parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [] })), "map_e.rules", /empty/);
  fails(() => parseHb46ppReply(withMapE({ br: "2001:db8::1", version: 2, rules: [rule] })), "map_e.version");
  fails(() => parseHb46ppReply(withMapE({ br: "2001:db8::1", mesh: "yes", rules: [rule] })), "map_e.mesh");
  fails(
    () => parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [rule, "x"] })),
    "map_e.rules[1]",
    /an object/,
  );
  fails(
    () => parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [{ ...rule, ipv4: "133.209.12/22" }] })),
    "map_e.rules[0].ipv4",
  );
  fails(
    () =>
      parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [{ ...rule, ipv6: "2404:7a82:4c00::1/38" }] })),
    "map_e.rules[0].ipv6",
    /bits set/,
  );
  fails(
    () => parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [{ ...rule, ea_length: "18" }] })),
    "map_e.rules[0].ea_length",
  );
  fails(
    () => parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [{ ...rule, psid_offset: undefined }] })),
    "map_e.rules[0].psid_offset",
    /missing/,
  );
  fails(
    () => parseHb46ppReply(withMapE({ br: "2001:db8::1", rules: [{ ...rule, ea_length: 40 }] })),
    "map_e.rules[0]",
    /longer than \/64/,
  );
  fails(() => parseHb46ppReply('{"order":["dslite"],"dslite":{}}'), "dslite.aftr", /missing/);
  fails(
    () =>
      parseHb46ppReply(
        '{"order":["ipip"],"ipip":[{"ipv4":"203.0.113.1/32","ipv6_local":"x","ipv6_remote":"2001:db8::1"}]}',
      ),
    "ipip[0].ipv6_local",
  );
  fails(() => parseHb46ppReply("x".repeat(2 << 20)), "body", /more than/);
});

test("verdicts: empty order is no service; DS-Lite and IPIP are reported as such", () => {
  assert.deepEqual(hb46ppVerdict(parseHb46ppReply('{"order":[],"ttl":3600}')), { kind: "no-service" });
  const ds = hb46ppVerdict(parseHb46ppReply('{"order":["dslite"],"dslite":{"aftr":"gw.transix.jp"}}'));
  // not claimed by this CE (capability map_e): says nothing of MAP-E
  assert.deepEqual(ds, {
    kind: "unclaimed",
    methods: ["dslite"],
    description: "DS-Lite (AFTR gw.transix.jp)",
  });
  const ipip = hb46ppVerdict(
    parseHb46ppReply(
      JSON.stringify({ order: ["ipip", "dslite"], ipip: SPEC_EXAMPLE.ipip, dslite: SPEC_EXAMPLE.dslite }),
    ),
    ["map_e", "ipip", "dslite"],
  );
  assert.ok(ipip.kind === "not-map-e");
  assert.equal(
    ipip.description,
    "IPIP (fixed IPv4 203.0.113.0/29, tunnel 2001:db8:7:100::7 → 2001:db8:7::1), then DS-Lite (AFTR aftr.example.net)",
  );
  // map_e present but not in order: the server does not offer it to this CE.
  const notOrdered = hb46ppVerdict(parseHb46ppReply(JSON.stringify({ ...BIGLOBE_REPLY, order: ["map_t"] })), [
    "map_e",
    "map_t",
  ]);
  assert.deepEqual(notOrdered, { kind: "not-map-e", methods: ["map_t"], description: "MAP-T" });
});

test("every rule of an answer is checked as it is parsed, not only the one this CE would pick", () => {
  const reply = (rules: unknown[]) =>
    new TextEncoder().encode(JSON.stringify({ ...BIGLOBE_REPLY, map_e: { ...BIGLOBE_REPLY.map_e, rules } }));
  const good = BIGLOBE_REPLY.map_e.rules[0];
  // the second rule is for someone else's prefix, and maps into loopback space
  const hostile = { ipv6: "2404:7a80::/38", ipv4: "127.0.0.0/22", ea_length: 18, psid_offset: 4 };
  assert.throws(
    () => parseHb46ppReply(reply([good, hostile])),
    (err: Error) =>
      /map_e\.rules\[1\]/.test(err.message) && /HB46PP answer: rule .*127\.0\.0\.0\/22/.test(err.message),
  );
  const singlePort = { ipv6: "2404:7a80::/38", ipv4: "133.209.16.0/22", ea_length: 22, psid_offset: 4 };
  assert.throws(() => parseHb46ppReply(reply([good, singlePort])), /map_e\.rules\[1\].*single port/);
  assert.equal(parseHb46ppReply(reply([good])).mapE?.rules.length, 1);
});
