import assert from "node:assert/strict";
import { test } from "node:test";
import { computeParameters } from "../../../src/mape/compute.ts";
import { formatIpv4 } from "../../../src/mape/ipv4.ts";
import { formatIpv6, parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { makeRule } from "../../../src/mape/rule.ts";
import { fromHex, hex } from "../../../src/provision/bytes.ts";
import {
  decodeMessage,
  duidLl,
  encodeMessage,
  MessageType,
  Option,
  options as opt,
} from "../../../src/provision/dhcpv6.ts";
import { DecodeError } from "../../../src/provision/errors.ts";
import {
  decodeMapeContainer,
  encodeLwContainer,
  encodeMapeContainer,
  encodeMaptContainer,
  encodePortParams,
  mapeRulesFromS46,
  S46,
} from "../../../src/provision/s46.ts";
import { KEA_BR, KEA_RULE } from "./fake-dhcpv6.ts";
import { decodeErrorOf, fixture } from "./fixtures.ts";

const USER_PREFIX = parseIpv6Prefix("2404:7a82:4d02:4100::/56");

function decodeError(fn: () => unknown, field: RegExp | string): DecodeError {
  const caught = decodeErrorOf(fn);
  if (typeof field === "string") assert.equal(caught.field, field, caught.message);
  else assert.match(caught.field, field, caught.message);
  return caught;
}

test("Kea's Reply decodes to the configured rule, PSID offset, BR and DNS server", () => {
  const m = decodeMessage(fixture("kea-reply-mape.hex"));
  assert.equal(m.type, MessageType.reply);
  assert.equal(m.transactionId, 0xd86b56);
  assert.equal(m.clientId?.linkLayer, "6e:9a:a9:ea:0b:e8");
  assert.equal(m.serverId?.type, 3);
  assert.deepEqual(m.dnsServers, ["2001:db8:53::1"]);
  const mapE = m.mapE;
  assert.ok(mapE !== null);
  assert.deepEqual(mapE.brs, ["2001:db8:ffff::1"]);
  assert.equal(mapE.rules.length, 1);
  assert.deepEqual(mapE.rules[0], {
    fmr: true,
    eaLength: 22,
    ipv4Prefix: "133.209.0.0/18",
    ipv6Prefix: "2404:7a82:4000::/34",
    portParams: { offset: 4, psidLength: 0, psid: 0 },
    notes: [],
  });
  assert.equal(m.mapT, null);
  assert.equal(m.lw4o6, null);
});

test("the decoded S46 rule gives the calc core's parameters for the seed user's prefix", () => {
  const m = decodeMessage(fixture("kea-reply-mape.hex"));
  assert.ok(m.mapE !== null);
  const [rule] = mapeRulesFromS46(m.mapE);
  assert.ok(rule !== undefined);
  const p = computeParameters(USER_PREFIX, rule, "draft-03");
  const expected = computeParameters(
    USER_PREFIX,
    makeRule({
      ipv6Prefix: "2404:7a82:4000::/34",
      ipv4Prefix: "133.209.0.0/18",
      eaBits: 22,
      psidOffset: 4,
      br: "2001:db8:ffff::1",
    }),
    "draft-03",
  );
  assert.deepEqual(p, expected);
  assert.equal(formatIpv4(p.ipv4Address), "133.209.13.2");
  assert.equal(p.psid, 0x41);
  assert.equal(formatIpv6(p.ceAddress), "2404:7a82:4d02:4100:85:d10d:200:4100");
  assert.equal(p.portCount, 240);
});

test("an explicit PSID in S46_PORTPARAMS is read left-aligned (0x4100 with PSID-len 8 is PSID 65)", () => {
  const m = decodeMessage(fixture("kea-reply-explicit-psid.hex"));
  assert.ok(m.mapE !== null);
  assert.deepEqual(m.mapE.rules[0]?.portParams, { offset: 4, psidLength: 8, psid: 65 });
  const [rule] = mapeRulesFromS46(m.mapE);
  assert.ok(rule !== undefined);
  assert.equal(rule.psid, 65);
  assert.equal(rule.psidLength, 8);
  const p = computeParameters(parseIpv6Prefix("2404:7a82:4000:4100::/56"), rule, "draft-03");
  assert.equal(p.psid, 65);
  assert.deepEqual(p.portSets[0], [5136, 5151]);
});

test("a right-aligned PSID (the odhcp6c-style mistake) is refused with an explanation", () => {
  const data = encodeMapeContainer(
    [
      {
        eaLength: 14,
        ipv4Prefix: "133.209.0.0/18",
        ipv6Prefix: "2404:7a82:4000::/42",
        portParams: { offset: 4, psidLength: 8, psid: 0x41 },
        rightAlignedPsid: true,
      },
    ],
    ["2001:db8::1"],
  );
  const err = decodeError(
    () => decodeMapeContainer(data),
    "OPTION_S46_CONT_MAPE.S46_RULE[0].S46_PORTPARAMS.PSID",
  );
  assert.match(err.message, /left-aligned/);
  assert.match(err.message, /0x4100/);
});

test("S46_PORTPARAMS edge cases: PSID-len 16, PSID-len 0 with padding, offset + length > 16", () => {
  const pp = (offset: number, len: number, raw: number): Uint8Array =>
    Uint8Array.of(
      0,
      0x59,
      0,
      16,
      0,
      0,
      32,
      192,
      0,
      2,
      1,
      0,
      ...[0, 0x5d, 0, 4, offset, len, raw >> 8, raw & 255],
    );
  const rule16 = decodeMapeContainer(pp(0, 16, 0xbeef)).rules[0];
  assert.deepEqual(rule16?.portParams, { offset: 0, psidLength: 16, psid: 0xbeef });
  // PSID-len 0: the PSID field is ignored, whatever it holds (RFC 7598 §4.5).
  assert.deepEqual(decodeMapeContainer(pp(4, 0, 0xffff)).rules[0]?.portParams, {
    offset: 4,
    psidLength: 0,
    psid: 0,
  });
  decodeError(() => decodeMapeContainer(pp(0, 4, 0x0001)), /S46_PORTPARAMS\.PSID$/);
  decodeError(() => decodeMapeContainer(pp(10, 8, 0)), /S46_PORTPARAMS\.PSID-len$/);
  decodeError(() => decodeMapeContainer(pp(16, 0, 0)), /S46_PORTPARAMS\.offset$/);
  assert.equal(hex(encodePortParams({ offset: 6, psidLength: 6, psid: 0x3f })), "0606fc00");
});

test("S46_RULE length errors name the field that ran out", () => {
  // prefix6-len 70 needs 9 bytes; only 5 follow.
  const short = fromHex("0059 000d 00 10 18 c0000200 46 2001db8000");
  decodeError(() => decodeMapeContainer(short), "OPTION_S46_CONT_MAPE.S46_RULE[0].ipv6-prefix");
  decodeError(
    () => decodeMapeContainer(fromHex("0059 0003 00 10 18")),
    "OPTION_S46_CONT_MAPE.S46_RULE[0].ipv4-prefix",
  );
  decodeError(() => decodeMapeContainer(fromHex("0059 0008 00 10 21 c0000200 00")), /prefix4-len$/);
  decodeError(() => decodeMapeContainer(fromHex("0059 0008 00 10 18 c0000200 81")), /prefix6-len$/);
  // The rule's own length is wrong: the error names the option whose length points outside.
  decodeError(
    () => decodeMapeContainer(fromHex("0059 0009 00 10 18 c0000200 00")),
    "OPTION_S46_CONT_MAPE.S46_RULE",
  );
  // A sub-option header that claims more than the rule holds.
  decodeError(
    () => decodeMapeContainer(fromHex("0059 000c 00 10 18 c0000200 00 005d 0009")),
    /^OPTION_S46_CONT_MAPE\.S46_RULE\[0\]\.S46_PORTPARAMS$/,
  );
  decodeError(() => decodeMapeContainer(fromHex("005a 000f 20010db80000000000000000000000")), /S46_BR\[0\]/);
  decodeError(
    () => decodeMapeContainer(fromHex("005a 0011 20010db8000000000000000000000001 00")),
    /S46_BR\[0\]/,
  );
});

test("bits after a prefix length are ignored, and said so", () => {
  // 0x20 = 32 bits → 4 bytes; a fifth byte would be a sub-option fragment and fails cleanly.
  decodeError(
    () => decodeMapeContainer(fromHex("0059 000d 00 10 18 c00002ff 20 20010db8ff")),
    /S46_RULE\[0\]$/,
  );
  const masked = decodeMapeContainer(fromHex("0059 000c 00 10 18 c00002ff 1c 20010dbf"));
  assert.equal(masked.rules[0]?.ipv4Prefix, "192.0.2.0/24");
  assert.equal(masked.rules[0].ipv6Prefix, "2001:db0::/28");
  assert.equal(masked.rules[0].notes.length, 2);
});

test("rules the core refuses become a DecodeError naming the S46_RULE", () => {
  const container = decodeMapeContainer(
    encodeMapeContainer(
      [{ eaLength: 40, ipv4Prefix: "192.0.2.0/24", ipv6Prefix: "2001:db8::/32" }],
      ["2001:db8::1"],
    ),
  );
  const err = decodeError(() => mapeRulesFromS46(container), "OPTION_S46_CONT_MAPE.S46_RULE[0]");
  assert.match(err.message, /longer than \/64/);
  decodeError(
    () => mapeRulesFromS46({ rules: container.rules, brs: [], ignored: [] }),
    "OPTION_S46_CONT_MAPE",
  );
  decodeError(
    () => mapeRulesFromS46({ rules: [], brs: ["2001:db8::1"], ignored: [] }),
    "OPTION_S46_CONT_MAPE",
  );
});

test("without S46_PORTPARAMS the PSID offset is RFC 7597's default 6", () => {
  const container = decodeMapeContainer(
    encodeMapeContainer(
      [{ eaLength: 16, ipv4Prefix: "192.0.2.0/24", ipv6Prefix: "2001:db8::/40" }],
      ["2001:db8::1"],
    ),
  );
  const [rule] = mapeRulesFromS46(container);
  assert.equal(rule?.psidOffset, 6);
  assert.equal(rule.psidLength, 8);
});

test("MAP-T and lightweight 4over6 containers decode for reporting", () => {
  const mapt = encodeMaptContainer(
    [{ fmr: true, eaLength: 8, ipv4Prefix: "203.0.113.32/28", ipv6Prefix: "2001:db8:5:100::/56" }],
    "2001:db8:5::/64",
  );
  const lw = encodeLwContainer("2001:db8:3::1", {
    ipv4Address: "203.0.113.16",
    bindPrefix6: "2001:db8:3:100::/56",
    portParams: { offset: 6, psidLength: 8, psid: 3 },
  });
  const m = decodeMessage(
    encodeMessage(MessageType.reply, 1, [
      opt.serverId(duidLl("02:00:00:00:00:01")),
      opt.raw(S46.contMapt, mapt),
      opt.raw(S46.contLw, lw),
    ]),
  );
  assert.equal(m.mapT?.dmr, "2001:db8:5::/64");
  assert.equal(m.mapT.rules[0]?.ipv6Prefix, "2001:db8:5:100::/56");
  assert.deepEqual(m.lw4o6?.brs, ["2001:db8:3::1"]);
  assert.deepEqual(m.lw4o6.binding, {
    ipv4Address: "203.0.113.16",
    bindPrefix6: "2001:db8:3:100::/56",
    portParams: { offset: 6, psidLength: 8, psid: 3 },
  });
});

test("re-encoding Kea's rule gives Kea's bytes", () => {
  const data = encodeMapeContainer([KEA_RULE], [KEA_BR]);
  const reply = fixture("kea-reply-mape.hex");
  assert.equal(hex(opt.raw(S46.contMape, data).data), hex(reply.subarray(reply.length - data.length)));
});

test("Kea's Advertise carries the offered delegated prefix in IA_PD/IAPREFIX", () => {
  const m = decodeMessage(fixture("kea-advertise-mape-pd.hex"));
  assert.equal(m.type, MessageType.advertise);
  assert.equal(m.iaPd.length, 1);
  assert.deepEqual(m.iaPd[0], {
    iaid: 1,
    t1: 1800,
    t2: 2880,
    prefixes: [{ prefix: "2404:7a82:4d02::/56", preferredLifetime: 3600, validLifetime: 7200, status: null }],
    status: null,
  });
  assert.ok(m.mapE !== null);
});

test("an Information-request carries Client ID, ORO with 94 and Elapsed Time, in RFC 8415 layout", () => {
  const duid = duidLl("52:54:00:12:34:56");
  assert.equal(hex(duid), "00030001525400123456");
  const bytes = encodeMessage(MessageType.informationRequest, 0xabcdef, [
    opt.clientId(duid),
    opt.oro([94, 23, 83]),
    opt.elapsedTime(0),
  ]);
  assert.equal(
    hex(bytes),
    "0babcdef" + "0001000a00030001525400123456" + "00060006005e00170053" + "000800020000",
  );
  const m = decodeMessage(bytes);
  assert.deepEqual(m.oro, [94, 23, 83]);
  assert.equal(m.elapsedTime, 0);
  assert.equal(opt.elapsedTime(1e9).data[0], 0xff);
});

test("malformed messages are DecodeErrors naming the field", () => {
  decodeError(() => decodeMessage(fromHex("07 00")), "message.transaction-id");
  decodeError(() => decodeMessage(new Uint8Array(0)), "message.msg-type");
  decodeError(() => decodeMessage(fromHex("0c 000001")), "message.msg-type");
  decodeError(() => decodeMessage(fromHex("07 000001 0001 0020 00030001")), "message.OPTION_CLIENTID");
  decodeError(() => decodeMessage(fromHex("07 000001 0001 0020 00030001")), /CLIENTID/);
  decodeError(() => decodeMessage(fromHex("07 000001 0006 0003 005e00")), "OPTION_ORO");
  decodeError(() => decodeMessage(fromHex("07 000001 0008 0003 000000")), "OPTION_ELAPSED_TIME");
  decodeError(() => decodeMessage(fromHex("07 000001 000e 0001 00")), "OPTION_RAPID_COMMIT");
  decodeError(() => decodeMessage(fromHex("07 000001 0001 0002 0003")), "OPTION_CLIENTID");
  decodeError(
    () => decodeMessage(fromHex("07 000001 0001 000a 000300016e9aa9ea0be8 0001 000a 000300016e9aa9ea0be8")),
    "OPTION_CLIENTID",
  );
  decodeError(
    () => decodeMessage(fromHex("07 000001 0017 0011 20010db8000000000000000000000001 00")),
    "OPTION_DNS_SERVERS",
  );
  decodeError(() => decodeMessage(fromHex("07 000001 005e 0000 00")), /^message$/);
  decodeError(() => decodeMessage(fromHex("07 000001 0019 0008 0000000100000000")), "OPTION_IA_PD[0].T2");
  decodeError(
    () => decodeMessage(fromHex("07 000001 0019 0010 000000010000000000000000 001a 0000")),
    "OPTION_IA_PD[0].OPTION_IAPREFIX[0].preferred-lifetime",
  );
  const err = decodeError(() => decodeMessage(fromHex("07 000001 005e 0005 0059 0020 00")), /S46_RULE$/);
  assert.match(err.message, /points past the end/);
});

test("a status code and unknown options are kept, not fatal", () => {
  const m = decodeMessage(
    encodeMessage(MessageType.reply, 7, [
      opt.status(2, "no addresses"),
      opt.raw(9999, Uint8Array.of(1, 2, 3)),
    ]),
  );
  assert.deepEqual(m.status, { code: 2, name: "NoAddrsAvail", message: "no addresses" });
  assert.equal(m.options.length, 2);
  assert.equal(m.options[1]?.code, 9999);
  assert.equal(Option.s46ContMape, 94);
});
