import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { decodeAftrName, encodeAftrName, OPTION_AFTR_NAME } from "../../../src/provision/aftr-name.ts";
import { fromHex } from "../../../src/provision/bytes.ts";
import { decodeMessage, encodeMessage, MessageType, options as opt } from "../../../src/provision/dhcpv6.ts";
import {
  aftrFromTables,
  aftrFromText,
  aftrWithoutNetwork,
  DsLiteError,
} from "../../../src/provision/dslite.ts";
import { shippedAftrNames, shippedNotMape } from "../../../src/rules/shipped.ts";
import { decodeErrorOf } from "./fixtures.ts";

test("OPTION_AFTR_NAME: RFC 6334's wire form decodes to the lower-case name", () => {
  // 2 "gw" 7 "transix" 2 "jp" 0, written out by hand from RFC 1035 §3.1
  const wire = fromHex("026777" + "07" + "7472616e736978" + "026a70" + "00");
  assert.equal(decodeAftrName(wire, "OPTION_AFTR_NAME"), "gw.transix.jp");
  assert.equal(decodeAftrName(encodeAftrName("DGW.Xpass.JP"), "x"), "dgw.xpass.jp");
  assert.deepEqual(encodeAftrName("gw.transix.jp"), wire);
});

test("OPTION_AFTR_NAME: broken names are DecodeErrors naming the field", () => {
  const cases: [string, RegExp][] = [
    ["0267770774726e", /label\[1\]/], // cut short inside the second label
    ["026777", /label-length/], // no root label
    ["00", /root name alone/],
    ["c00c", /compression pointer/],
    ["02677700ff", /after the root label/],
    ["0267770000", /after the root label/],
    ["03612f62026a7000", /not a host name label/],
    ["026777" + "00", /not a fully qualified name/],
  ];
  for (const [hex, reason] of cases) {
    const err = decodeErrorOf(() => decodeAftrName(fromHex(hex), "OPTION_AFTR_NAME"));
    assert.match(err.field, /^OPTION_AFTR_NAME/, hex);
    assert.match(err.message, reason, hex);
  }
});

test("a Reply carrying option 64 decodes it; twice is refused", () => {
  const name = opt.raw(OPTION_AFTR_NAME, encodeAftrName("dslite.v6connect.net"));
  const reply = decodeMessage(encodeMessage(MessageType.reply, 1, [name]));
  assert.equal(reply.aftrName, "dslite.v6connect.net");
  assert.equal(decodeMessage(encodeMessage(MessageType.reply, 1, [])).aftrName, null);
  const twice = decodeErrorOf(() => decodeMessage(encodeMessage(MessageType.reply, 1, [name, name])));
  assert.equal(twice.field, "OPTION_AFTR_NAME");
});

test("the AFTR as text: an address is canonical, a name lower case, anything else a DsLiteError", () => {
  assert.deepEqual(aftrFromText("2404:8E00::FEED:101", "hb46pp"), {
    name: null,
    address: "2404:8e00::feed:101",
    from: "hb46pp",
    service: null,
  });
  assert.equal(aftrFromText("GW.transix.jp.", "configuration").name, "gw.transix.jp");
  for (const bad of ["2404:8e00::feed::1", "gw_transix.jp", "localhost", "a b.jp", ""]) {
    assert.throws(() => aftrFromText(bad, "hb46pp"), DsLiteError, bad);
  }
});

test("the tables give each DS-Lite service's AFTR name for its prefixes, nothing for a MAP-E prefix", () => {
  const names = shippedAftrNames();
  const at = (p: string) => aftrFromTables(parseIpv6Prefix(p), shippedNotMape(), names);
  assert.deepEqual(at("2404:8e01:1234:5600::/56"), {
    name: "gw.transix.jp",
    address: null,
    from: "tables",
    service: "transix",
  });
  assert.equal(at("2001:f70:1000::/48")?.name, "dgw.xpass.jp");
  assert.equal(at("2405:6581:abcd::/48")?.name, "dslite.v6connect.net");
  assert.equal(at("2404:7a82:4d02:4100::/56"), null);
  assert.equal(at("2408:8000::/48"), null, "NTT's own prefix is not DS-Lite");
});

test("without a network source, the user's AFTR wins over the tables, and none at all says where one comes from", () => {
  const names = shippedAftrNames();
  const transix = parseIpv6Prefix("2404:8e00:1::/48");
  assert.equal(aftrWithoutNetwork("2001:db8::1", transix, shippedNotMape(), names).address, "2001:db8::1");
  assert.equal(aftrWithoutNetwork(null, transix, shippedNotMape(), names).name, "gw.transix.jp");
  assert.throws(
    () => aftrWithoutNetwork(null, parseIpv6Prefix("2001:db8::/48"), shippedNotMape(), names),
    (err: unknown) =>
      err instanceof DsLiteError &&
      err.category === "no-parameters" &&
      /HB46PP's dslite\.aftr, DHCPv6 option 64/.test(err.message) &&
      /--aftr/.test(err.message),
  );
});
