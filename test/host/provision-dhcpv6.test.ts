import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { computeParameters } from "../../src/mape/compute.ts";
import { parseIpv6Prefix } from "../../src/mape/ipv6.ts";
import { makeRule, type MapRuleSpec } from "../../src/mape/rule.ts";
import { parametersJson, type ParametersJson } from "../../src/provision/parameters.ts";
import type { Netns } from "../helpers/netns.ts";
import { isRoot } from "../helpers/netns.ts";
import { CLI } from "../helpers/run-cli.ts";
import { Background, cleanup, line, type RuleReport, skip, startKea } from "./provision-servers.ts";

// A real Kea (Debian kea-dhcp6-server) in an "ngn" namespace answers mapectl's DHCPv6 client in a
// "ce" namespace over a veth: what mapectl decodes must be what Kea was told to send.

const PREFIX = "2404:7a82:4d02:4100::/56";
let ce: Netns;
let ngn: Netns;
let dir: string;
let kea: Background | null = null;

interface KeaRule {
  readonly s46Rule: string;
  readonly portParams: string;
  readonly br: string;
  /** The same rule as the core writes it. */
  readonly spec: MapRuleSpec;
}

const FMR_RULE: KeaRule = {
  s46Rule: "1, 22, 18, 133.209.0.0, 2404:7a82:4000::/34",
  portParams: "4, 0/0",
  br: "2001:db8:ffff::1",
  spec: {
    ipv6Prefix: "2404:7a82:4000::/34",
    ipv4Prefix: "133.209.0.0/18",
    eaBits: 22,
    psidOffset: 4,
    br: "2001:db8:ffff::1",
  },
};

// EA bits that carry only the IPv4 suffix; the PSID comes from S46_PORTPARAMS (65 = 0x41, 8 bits).
const EXPLICIT_PSID_RULE: KeaRule = {
  s46Rule: "0, 14, 18, 133.209.0.0, 2404:7a82:4d00::/42",
  portParams: "4, 65/8",
  br: "2001:db8:ffff::2",
  spec: {
    ipv6Prefix: "2404:7a82:4d00::/42",
    ipv4Prefix: "133.209.0.0/18",
    eaBits: 14,
    psidOffset: 4,
    psidLength: 8,
    psid: 65,
    br: "2001:db8:ffff::2",
  },
};

async function restartKea(rule: KeaRule): Promise<void> {
  await kea?.stop();
  kea = null;
  kea = await startKea(ngn, dir, "02aabbccdd01", {
    subnet: "2404:7a82:4d02::/48",
    "pd-pools": [{ prefix: "2404:7a82:4d02::", "prefix-len": 48, "delegated-len": 56 }],
    "option-data": [
      { name: "dns-servers", data: "2001:db8:53::1" },
      { name: "s46-cont-mape" },
      { space: "s46-cont-mape-options", name: "s46-rule", data: rule.s46Rule },
      { space: "s46-rule-options", name: "s46-portparams", data: rule.portParams },
      { space: "s46-cont-mape-options", name: "s46-br", data: rule.br },
    ],
  });
}

interface ProvisionJson {
  sources: RuleReport[];
  chosen: Record<string, unknown> | null;
  disagreements: { field: string; values: Record<string, string> }[];
}

function provision(args: readonly string[]): {
  code: number;
  json: ProvisionJson | null;
  stderr: string;
  ms: number;
} {
  const start = performance.now();
  const r = ce.run([process.execPath, CLI, "provision", "--wan", "wan0", ...args]);
  const ms = performance.now() - start;
  let json: ProvisionJson | null;
  try {
    json = JSON.parse(r.stdout) as ProvisionJson;
  } catch {
    json = null;
  }
  return { code: r.code, json, stderr: r.stderr, ms };
}

/** What `mapectl calc` would print for the prefix with this rule, computed by the core in-process. */
function coreParameters(spec: MapRuleSpec): ParametersJson {
  const params = computeParameters(parseIpv6Prefix(PREFIX), makeRule(spec), "draft-03");
  return parametersJson({ params, service: null, source: "dhcpv6", overridden: [] });
}

before(async () => {
  if (!isRoot()) return;
  ({ dir, ce, ngn } = await line("mapectl-prov"));
  await restartKea(FMR_RULE);
});

after(cleanup);

test(
  "Information-request to Kea: rule, BR and PSID equal Kea's configuration and the core's parameters",
  { skip },
  () => {
    const r = provision(["--prefix", PREFIX, "--source", "dhcpv6,tables", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json !== null);
    const [dhcp, tables] = r.json.sources;
    assert.equal(dhcp?.source, "dhcpv6");
    assert.equal(dhcp.ok, true, `${dhcp.error ?? ""}\n${kea?.output ?? ""}`);
    assert.deepEqual(dhcp.rules, [
      {
        ipv6Prefix: "2404:7a82:4000::/34",
        ipv4Prefix: "133.209.0.0/18",
        eaBits: 22,
        psidOffset: 4,
        psidLength: 8,
        psid: null,
      },
    ]);
    assert.equal(dhcp.br, "2001:db8:ffff::1");
    assert.deepEqual(dhcp.details.brs, ["2001:db8:ffff::1"]);
    assert.deepEqual(dhcp.details.fmr, [true]);
    assert.deepEqual(dhcp.details.dnsServers, ["2001:db8:53::1"]);
    assert.equal(dhcp.details.server, "0003000102aabbccdd01");
    assert.equal(dhcp.details.transmissions, 1);
    const chosen = r.json.chosen;
    assert.ok(chosen !== null);
    // The BIGLOBE table names the service; everything computed must be the core's own result.
    assert.deepEqual({ ...chosen, service: null, serviceName: null }, coreParameters(FMR_RULE.spec));
    assert.equal(chosen.ipv4Address, "133.209.13.2");
    assert.equal(chosen.psid, 65);
    assert.equal(chosen.ceAddress, "2404:7a82:4d02:4100:85:d10d:200:4100");
    assert.equal(chosen.source, "dhcpv6");
    // Kea's BR is not the table's: shown side by side.
    assert.equal(tables?.br, "2001:260:700:1::1:275");
    assert.deepEqual(r.json.disagreements.find((d) => d.field === "br")?.values, {
      dhcpv6: "2001:db8:ffff::1",
      tables: "2001:260:700:1::1:275",
    });
    console.log(
      `# DHCPv6 Information-request/Reply with Kea: ${String(dhcp.details.elapsedMs)} ms on the wire, CLI run ${r.ms.toFixed(0)} ms (includes the 0–1 s INF_MAX_DELAY)`,
    );
  },
);

test(
  "Solicit to Kea: the Advertise carries S46 and the offered delegated prefix, no lease taken",
  { skip },
  () => {
    const r = provision(["--prefix", PREFIX, "--source", "dhcpv6", "--solicit", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const dhcp = r.json?.sources[0];
    assert.equal(dhcp?.ok, true, dhcp?.error ?? "");
    assert.deepEqual(dhcp.details.offeredPrefixes, ["2404:7a82:4d02::/56"]);
    assert.equal(dhcp.br, "2001:db8:ffff::1");
    assert.match(String(dhcp.details.message), /^Advertise: MAP-E/);
    // RFC 8415 §18.2.1: the client waits out the first RT (just over 1 s) collecting Advertises.
    assert.ok(Number(dhcp.details.elapsedMs) >= 1000, String(dhcp.details.elapsedMs));
  },
);

test(
  "explicit PSID in S46_PORTPARAMS: Kea's 65/8 is PSID 65, and the parameters are the core's",
  { skip },
  async () => {
    await restartKea(EXPLICIT_PSID_RULE);
    const r = provision(["--prefix", PREFIX, "--source", "dhcpv6", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const dhcp = r.json?.sources[0];
    assert.equal(dhcp?.ok, true, dhcp?.error ?? "");
    assert.deepEqual(dhcp.rules, [
      {
        ipv6Prefix: "2404:7a82:4d00::/42",
        ipv4Prefix: "133.209.0.0/18",
        eaBits: 14,
        psidOffset: 4,
        psidLength: 8,
        psid: 65,
      },
    ]);
    const chosen = r.json?.chosen;
    assert.ok(chosen !== undefined && chosen !== null);
    assert.deepEqual(
      { ...chosen, service: null, serviceName: null },
      coreParameters(EXPLICIT_PSID_RULE.spec),
    );
    assert.equal(chosen.psid, 65);
    assert.equal(chosen.ipv4Address, "133.209.2.65");
    assert.deepEqual((chosen.portSets as number[][])[0], [5136, 5151]);
    await restartKea(FMR_RULE);
  },
);

test("port 546 already taken by another DHCPv6 client: a warning that names it", { skip }, async () => {
  const squatter = new Background(ce, [
    "python3",
    "-c",
    "import socket,time\ns=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\ns.bind(('::',546))\nprint('bound',flush=True)\ntime.sleep(60)",
  ]);
  await squatter.ready(/bound/);
  const r = provision(["--prefix", PREFIX, "--source", "dhcpv6,tables", "--json"]);
  await squatter.stop();
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^mapectl: warning: UDP port 546 on wan0 is already used by python3 \(pid \d+\), the system's DHCPv6 client/m,
  );
  const doc = r.json;
  assert.ok(doc !== null);
  assert.equal(doc.sources[0]?.status, "port-in-use");
  assert.equal(doc.chosen?.source, "tables");
});

test("no DHCPv6 server: retransmissions, then a bounded give-up with a clear status", { skip }, async () => {
  await kea?.stop();
  kea = null;
  const r = provision(["--prefix", PREFIX, "--source", "dhcpv6", "--timeout", "3.5", "--json"]);
  assert.equal(r.code, 3);
  const dhcp = r.json?.sources[0];
  assert.equal(dhcp?.status, "no-answer");
  // Sent at about 0, 1, 3 s after the initial delay, within the 3.5 s bound.
  assert.ok(Number(dhcp.details.transmissions) >= 2, JSON.stringify(dhcp.details));
  assert.match(dhcp.error ?? "", /no answer from a DHCPv6 server in 3\.\d s \(\d Information-requests\)/);
  assert.match(r.stderr, /^mapectl: no source gives MAP-E parameters/);
  assert.ok(r.ms < 8000, `${r.ms} ms`);
  await restartKea(FMR_RULE);
});

test(
  "without --prefix the prefix is read from the WAN, and a WAN without one is 'host not ready'",
  { skip },
  () => {
    const none = ce.run([process.execPath, CLI, "provision", "--wan", "wan0", "--source", "tables"]);
    assert.equal(none.code, 5, none.stderr);
    assert.match(
      none.stderr,
      /^mapectl: wan0 has no global IPv6 address with a \/64 or shorter prefix yet; give the delegated prefix with --prefix\n$/,
    );
    ce.ok(["ip", "-6", "addr", "add", "2404:7a82:4d02:4100:85:d10d:200:4100/64", "dev", "wan0", "nodad"]);
    const r = ce.run([
      process.execPath,
      CLI,
      "provision",
      "--wan",
      "wan0",
      "--source",
      "dhcpv6,tables",
      "--json",
    ]);
    ce.ok(["ip", "-6", "addr", "del", "2404:7a82:4d02:4100:85:d10d:200:4100/64", "dev", "wan0"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as ProvisionJson & { prefix: string; prefixFrom: string };
    assert.equal(doc.prefix, "2404:7a82:4d02:4100::/64");
    assert.equal(doc.prefixFrom, "read from 2404:7a82:4d02:4100:85:d10d:200:4100/64 on wan0");
    assert.equal(doc.chosen?.ipv4Address, "133.209.13.2");
    const missing = ce.run([process.execPath, CLI, "provision", "--wan", "nosuch0", "--source", "tables"]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /^mapectl: interface nosuch0 does not exist\n$/);
  },
);
