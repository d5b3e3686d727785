import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isOneLineError, runCli } from "../helpers/run-cli.ts";

const USER = "2404:7a82:4d02:4100::/56";

test("calc prints the user's parameters as a human summary with the port blocks", () => {
  const r = runCli(["calc", USER]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /BIGLOBE IPv6オプション/);
  assert.match(r.stdout, /IPv4 address\s+133\.209\.13\.2/);
  assert.match(r.stdout, /PSID\s+65 \(0x41\)/);
  assert.match(r.stdout, /CE address\s+2404:7a82:4d02:4100:85:d10d:200:4100 \(draft-03/);
  assert.match(r.stdout, /BR\s+2001:260:700:1::1:275/);
  assert.match(r.stdout, /240 in 15 blocks of 16/);
  assert.match(r.stdout, /5136-5151/);
  assert.match(r.stdout, /62480-62495/);
});

test("calc --json prints exactly the documented object", () => {
  const r = runCli(["calc", USER, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of [
    "schemaVersion",
    "method",
    "prefix",
    "service",
    "rule",
    "ipv4Address",
    "psid",
    "ceAddress",
    "ceInterfaceId",
    "br",
    "portSets",
    "portCount",
    "source",
  ]) {
    assert.ok(key in doc, key);
  }
  assert.equal(doc.schemaVersion, 1);
  assert.equal(doc.method, "map-e");
  assert.equal(doc.prefix, USER);
  assert.equal(doc.service, "biglobe");
  assert.deepEqual(doc.rule, {
    ipv6Prefix: "2404:7a82:4c00::/38",
    ipv4Prefix: "133.209.12.0/22",
    eaBits: 18,
    psidOffset: 4,
    psidLength: 8,
  });
  assert.equal(doc.ipv4Address, "133.209.13.2");
  assert.equal(doc.psid, 65);
  assert.equal(doc.ceAddress, "2404:7a82:4d02:4100:85:d10d:200:4100");
  assert.equal(doc.ceInterfaceId, "draft-03");
  assert.equal(doc.br, "2001:260:700:1::1:275");
  const sets = doc.portSets as [number, number][];
  assert.equal(sets.length, 15);
  assert.deepEqual(sets[0], [5136, 5151]);
  assert.deepEqual(sets[14], [62480, 62495]);
  assert.equal(doc.portCount, 240);
  assert.equal(doc.source, "tables");
});

test("a manual rule works without the tables, with service null", () => {
  const r = runCli([
    "calc",
    "2001:db8:12:3400::/56",
    "--rule",
    "ipv6-prefix=2001:db8::/40,ipv4-prefix=192.0.2.0/24,ea-bits=16,psid-offset=6,br=2001:db8:ffff::1",
    "--iid",
    "rfc7597",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(doc.service, null);
  assert.equal(doc.source, "manual");
  assert.equal(doc.ipv4Address, "192.0.2.18");
  assert.equal(doc.ceAddress, "2001:db8:12:3400:0:c000:212:34");
  assert.equal(doc.ceInterfaceId, "rfc7597");
  assert.equal(doc.br, "2001:db8:ffff::1");
  assert.equal(doc.portCount, 252);
});

test("--br overrides the table's BR and the output says it was overridden", () => {
  const r = runCli(["calc", USER, "--br", "2404:9200:225:100::64", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(doc.br, "2404:9200:225:100::64");
  assert.deepEqual(doc.overridden, ["br"]);
  const human = runCli(["calc", USER, "--override", "psid-offset=6"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /overridden: psidOffset/);
  assert.match(human.stdout, /PSID offset 6/);
});

test("a user's rules file adds rules and wins over the shipped ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-rules-"));
  const file = join(dir, "rules.json");
  writeFileSync(
    file,
    JSON.stringify({
      services: { lab: { name: "Lab ISP", ceInterfaceId: "rfc7597" } },
      rules: [
        {
          service: "lab",
          ipv6Prefix: "2404:7a82:4c00::/38",
          ipv4Prefix: "198.51.100.0/22",
          eaBits: 18,
          psidOffset: 4,
          br: "2001:db8::1",
        },
      ],
    }),
  );
  const r = runCli(["calc", USER, "--rules-file", file, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(doc.service, "lab");
  assert.equal(doc.ipv4Address, "198.51.101.2");
  assert.equal(doc.ceInterfaceId, "rfc7597");
  const human = runCli(["calc", USER, "--rules-file", file]);
  assert.ok(human.stdout.includes(`Lab ISP (rules file ${file})`), human.stdout);
  assert.doesNotMatch(human.stdout, /shipped/);
});

const failures: [string, string[], number, RegExp][] = [
  ["a malformed prefix", ["calc", "2404:7a82:4d02:41zz::/56"], 2, /not an IPv6 prefix/],
  ["a prefix with host bits", ["calc", "2404:7a82:4d02:4101::/56"], 2, /2404:7a82:4d02:4100::\/56/],
  ["a prefix too short to pick a rule", ["calc", "2404:7a82::/32"], 2, /holds 64 MAP-E rules/],
  ["no matching rule", ["calc", "2001:db8::/56"], 3, /no MAP-E rule covers 2001:db8::\/56/],
  ["a DS-Lite line", ["calc", "2404:8e00:1:200::/56"], 3, /transix.*DS-Lite/],
  ["NTT's own prefix", ["calc", "2408:210:1:100::/56"], 3, /NTT's own prefix.*not active/],
  ["an unknown option", ["calc", USER, "--frobnicate"], 2, /unknown option/],
  ["no prefix at all", ["calc"], 2, /missing required argument/],
  [
    "an impossible rule",
    [
      "calc",
      USER,
      "--rule",
      "ipv6-prefix=2404:7a82:4c00::/38,ipv4-prefix=133.209.12.0/22,ea-bits=18,psid-offset=9",
    ],
    2,
    /psid-offset 9 \+ psid-length 8/,
  ],
  [
    "an incomplete rule",
    ["calc", USER, "--rule", "ipv6-prefix=2404:7a82:4c00::/38"],
    2,
    /missing ipv4-prefix, ea-bits, psid-offset/,
  ],
  ["a bad interface-ID layout", ["calc", USER, "--iid", "rfc9999"], 2, /--iid must be/],
  [
    "a missing rules file",
    ["calc", USER, "--rules-file", "/nonexistent/rules.json"],
    4,
    /cannot read rules file.*no such file/,
  ],
];

for (const [what, args, code, message] of failures) {
  test(`calc with ${what} exits ${code} with one line naming the problem`, () => {
    const r = runCli(args);
    assert.equal(r.code, code, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, message);
    assert.ok(isOneLineError(r.stderr), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
}

test("a broken rules file exits 4 naming the file and the bad rule", () => {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-rules-"));
  const notJson = join(dir, "a.json");
  writeFileSync(notJson, "{ rules: [");
  let r = runCli(["calc", USER, "--rules-file", notJson]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /a\.json: not valid JSON/);
  const badRule = join(dir, "b.json");
  writeFileSync(
    badRule,
    JSON.stringify({
      rules: [{ ipv6Prefix: "2001:db8::/40", ipv4Prefix: "192.0.2.0/24", eaBits: 60, psidOffset: 4 }],
    }),
  );
  r = runCli(["calc", USER, "--rules-file", badRule]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /b\.json: rules\[0\]: .*ea-bits 60/);
  assert.ok(isOneLineError(r.stderr), r.stderr);
});

test("--help documents the exit statuses and --version answers", () => {
  const help = runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit status:/);
  assert.match(help.stdout, /3\s+no MAP-E parameters/);
  const version = runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});
