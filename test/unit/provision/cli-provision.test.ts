import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseSources, describeProvision } from "../../../src/cli/commands/provision.ts";
import { CliError } from "../../../src/cli/exit-codes.ts";
import { reportError, run } from "../../../src/cli/main.ts";
import type { Output } from "../../../src/cli/output.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { DEFAULT_IDENTITY } from "../../../src/provision/hb46pp.ts";
import { provision } from "../../../src/provision/provision.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { BIGLOBE_REPLY, fakeHb46pp, ok, TXT, txt } from "./fixtures.ts";

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

/** `mapectl provision --prefix <the seed user's /56> …args`, run in process: exit code and output. */
async function provisionUser(args: string[]): Promise<{ code: number; out: ReturnType<typeof capture> }> {
  const out = capture();
  return { code: await run(["provision", "--prefix", "2404:7a82:4d02:4100::/56", ...args], out), out };
}

test("provision --source tables --json: the documented shape, chosen from the tables", async () => {
  const { code, out } = await provisionUser(["--source", "tables", "--json"]);
  assert.equal(code, 0, out.stderr.join("\n"));
  const doc = JSON.parse(out.stdout.join("")) as {
    schemaVersion: number;
    sources: {
      source: string;
      ok: boolean;
      error: unknown;
      rules: unknown[];
      br: string;
      ceInterfaceId: string;
      ttl: unknown;
    }[];
    chosen: { source: string; ipv4Address: string; psid: number; schemaVersion: number };
  };
  assert.equal(doc.schemaVersion, 1);
  assert.equal(doc.sources.length, 1);
  assert.deepEqual(
    { ...doc.sources[0], rules: doc.sources[0]?.rules.length },
    {
      ...doc.sources[0],
      source: "tables",
      ok: true,
      error: null,
      rules: 1,
      br: "2001:260:700:1::1:275",
      ceInterfaceId: "draft-03",
      ttl: null,
    },
  );
  assert.equal(doc.chosen.source, "tables");
  assert.equal(doc.chosen.schemaVersion, 1);
  assert.equal(doc.chosen.ipv4Address, "133.209.13.2");
  assert.equal(doc.chosen.psid, 65);
  assert.equal((doc as unknown as { method: string }).method, "map-e");
});

test("provision --source tables --json on a transix prefix: method ds-lite with the service's AFTR name, exit 3", async () => {
  const out = capture();
  const code = await run(
    ["provision", "--prefix", "2404:8e00:12:3400::/56", "--source", "tables", "--json"],
    out,
  );
  assert.equal(code, 3, "no MAP-E parameters: provision still says so");
  const doc = JSON.parse(out.stdout.join("")) as { method: string; aftr: { name: string; from: string } };
  assert.equal(doc.method, "ds-lite");
  assert.deepEqual({ name: doc.aftr.name, from: doc.aftr.from }, { name: "gw.transix.jp", from: "tables" });
});

test("provision: a manual rule ranked first wins, and the BR disagreement is printed side by side", async () => {
  const { code, out } = await provisionUser([
    "--source",
    "tables,manual",
    "--order",
    "manual,tables",
    "--rule",
    "ipv6-prefix=2404:7a82:4c00::/38,ipv4-prefix=133.209.12.0/22,ea-bits=18,psid-offset=4,br=2001:db8::1",
  ]);
  assert.equal(code, 0, out.stderr.join("\n"));
  const text = out.stdout.join("\n");
  assert.match(text, /chosen: manual/);
  assert.match(text, /disagreement on br:\n\s+manual\s+2001:db8::1\n\s+tables\s+2001:260:700:1::1:275/);
});

test("provision: nothing for this prefix exits 3 with one line", async () => {
  const out = capture();
  const code = await run(["provision", "--prefix", "2001:db8:1200::/56", "--source", "tables"], out);
  assert.equal(code, 3);
  assert.equal(out.stderr.length, 1);
  assert.match(
    out.stderr[0] ?? "",
    /^mapectl: no source gives MAP-E parameters for 2001:db8:1200::\/56 \(tables: no-rule\)$/,
  );
});

test("provision: bad command lines exit 2", async () => {
  for (const argv of [
    ["provision", "--source", "tables"],
    ["provision", "--prefix", "2404:7a82:4d02:4100::/56", "--source", "dns"],
    ["provision", "--prefix", "2404:7a82:4d02:4100::/56", "--order", "tables,bogus"],
    ["provision", "--prefix", "2404:7a82:4d02:4100::/56", "--timeout", "0"],
    ["provision", "--prefix", "2404:7a82:4d02:4100::/56", "--source", "tables", "--vendor-id", "xyz"],
    ["provision", "--prefix", "2404:7a82:4d02:4100::/56", "--source", "tables", "--iid", "eui64"],
  ]) {
    const out = capture();
    assert.equal(await run(argv, out), 2, argv.join(" "));
    assert.equal(out.stderr.length, 1, argv.join(" "));
  }
});

test("--source picks sources, --order ranks them", () => {
  assert.deepEqual(chooseSources("all", undefined), ["hb46pp", "dhcpv6", "tables", "manual"]);
  assert.deepEqual(chooseSources("tables,hb46pp", undefined), ["hb46pp", "tables"]);
  assert.deepEqual(chooseSources("tables,hb46pp", "tables,dhcpv6"), ["tables", "hb46pp"]);
  assert.deepEqual(chooseSources("all", "dhcpv6,tables"), ["dhcpv6", "tables"]);
});

test("provision --resolver must be an address a resolver can use", async () => {
  for (const bad of ["dns.example", "fe80::1%wan0", "[2001:db8::53]:99999"]) {
    const { code, out } = await provisionUser(["--source", "tables", "--resolver", bad]);
    assert.equal(code, 2, bad);
    assert.match(out.stderr[0] ?? "", /--resolver/);
  }
});

test("without --rule, --source all does not list the manual source", async () => {
  const { code, out } = await provisionUser(["--order", "tables,manual", "--json"]);
  assert.equal(code, 0, out.stderr.join("\n"));
  const doc = JSON.parse(out.stdout.join("")) as { sources: { source: string }[] };
  assert.deepEqual(
    doc.sources.map((s) => s.source),
    ["tables"],
  );
});

test("provision: a service name or warning from the network prints as one escaped line, never a forged one", async () => {
  const hostile = {
    ...BIGLOBE_REPLY,
    service_name: "ISP\nchosen: manual\r\x1b[2Jok",
    surprise_field: "x",
  };
  const result = await provision(
    {
      prefix: parseIpv6Prefix("2404:7a82:4d02:4100::/56"),
      order: ["hb46pp"],
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      identity: DEFAULT_IDENTITY,
    },
    { hb46pp: fakeHb46pp(txt(TXT), { "/config": ok(hostile) }) },
  );
  const text = describeProvision(result, "given with --prefix");
  assert.ok(!text.includes("\r") && !text.includes("\x1b"), text);
  assert.ok(!text.split("\n").some((l) => l.startsWith("chosen: manual")), text);
  assert.match(text, /ISP\\nchosen: manual\\r\\x1b\[2Jok/);
});

test("an error quoting a network answer reaches stderr as one line", () => {
  const out = capture();
  reportError(new CliError("no-parameters", "hb46pp: ISP\nmapectl: all good"), out);
  assert.deepEqual(out.stderr, ["mapectl: hb46pp: ISP\\nmapectl: all good"]);
});
