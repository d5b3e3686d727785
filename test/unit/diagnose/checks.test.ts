import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runChecks, type DoctorInput } from "../../../src/diagnose/checks.ts";
import type { HostState, ObservedLink } from "../../../src/plan/observed.ts";
import { doctorInput } from "./fixtures/doctor-input.ts";

const CE = "2404:7a82:4d02:4100:85:d10d:200:4100";
const BIGLOBE_BR = "2001:260:700:1::1:275";
const JPNE_BR = "2404:9200:225:100::64";
const GW = "fe80::a611:bbff:fe7d:ee11";

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../fixtures/nft/${name}.json`, import.meta.url), "utf8"));
}

function tunnelLink(extra: {
  remote?: string;
  local?: string;
  encapLimit?: number | "none";
  mtu?: number;
}): ObservedLink {
  return {
    name: "mape",
    index: 9,
    mtu: extra.mtu ?? 1460,
    up: true,
    kind: "ip6tnl",
    tunnel: {
      mode: "ipip6",
      local: extra.local ?? CE,
      remote: extra.remote ?? BIGLOBE_BR,
      link: "eth1",
      encapLimit: extra.encapLimit ?? "none",
    },
    stats: null,
  };
}

function hostWith(tunnel: ObservedLink, options: { ceOnWan?: boolean; dadFailed?: boolean } = {}): HostState {
  return {
    links: [{ name: "eth1", index: 2, mtu: 1500, up: true, kind: null, tunnel: null, stats: null }, tunnel],
    addresses: [
      ...(options.ceOnWan === false
        ? []
        : [
            {
              dev: "eth1",
              family: 6 as const,
              address: tunnel.tunnel?.local ?? CE,
              prefixLength: 128,
              scope: "global",
              tentative: false,
              dadFailed: options.dadFailed ?? false,
              temporary: false,
              deprecated: false,
            },
          ]),
      {
        dev: "mape",
        family: 4 as const,
        address: "133.209.13.2",
        prefixLength: 32,
        scope: "global",
        tentative: false,
        dadFailed: false,
        temporary: false,
        deprecated: false,
      },
    ],
    routes: [
      { family: 6, dst: "default", gateway: GW, dev: "eth1", protocol: "ra", metric: 1024, type: "unicast" },
      {
        family: 6,
        dst: "2404:7a82:4d02:4100::/56",
        gateway: null,
        dev: "lo",
        protocol: "dhcp",
        metric: 1024,
        type: "unreachable",
      },
      { family: 4, dst: "default", gateway: null, dev: "mape", protocol: "boot", metric: 0, type: "unicast" },
    ],
    ipv4Forwarding: true,
    nftTable: null,
  };
}

function input(host: HostState, ruleset: unknown, extra: Partial<DoctorInput> = {}): DoctorInput {
  return doctorInput(host, ruleset, { wan: "eth1", gateway: GW }, extra);
}

const failing = (i: DoctorInput) => runChecks(i).findings.filter((f) => f.verdict === "fail");

test("a healthy CE configured by mapectl has no failures", () => {
  const result = runChecks(input(hostWith(tunnelLink({})), fixture("mapectl")));
  assert.deepEqual(
    result.findings.filter((f) => f.verdict !== "ok"),
    [],
  );
  assert.equal(result.tunnel, "mape");
});

test("a healthy CE with --tcp-time-wait (ct timeout set in the NAT chain) has no failures either", () => {
  // nft -j of `mapectl render --target nftables --tcp-time-wait 30`, loaded into a netns
  const result = runChecks(input(hostWith(tunnelLink({})), fixture("mapectl-time-wait")));
  assert.deepEqual(
    result.findings.filter((f) => f.verdict !== "ok"),
    [],
  );
});

test("the seed's VyOS configuration: every problem is named, the wrong BR first", () => {
  const findings = failing(
    input(hostWith(tunnelLink({ remote: JPNE_BR, encapLimit: 4, mtu: 1452 })), fixture("seed")),
  );
  assert.deepEqual(
    findings.map((f) => f.id),
    ["br-mismatch", "encap-limit", "nat-port-coverage", "nat-icmp", "mtu-mss"],
  );
  const br = findings[0];
  assert.match(
    br?.summary ?? "",
    /sends to 2404:9200:225:100::64 \(the BR of v6プラス\).*served by BR 2001:260:700:1::1:275/,
  );
  assert.ok(br?.fix.some((c) => c.includes(`remote ${BIGLOBE_BR}`)));
  assert.match(
    findings.find((f) => f.id === "nat-port-coverage")?.summary ?? "",
    /covers 16 of the 240 ports/,
  );
});

test("on VyOS the fixes come as configuration lines", () => {
  const host = hostWith(tunnelLink({ remote: JPNE_BR }));
  // a VyOS tunnel (tunN) gets the one line that changes it
  const tun0 = {
    ...host,
    links: host.links.map((l) => (l.name === "mape" ? { ...l, name: "tun0" } : l)),
    addresses: host.addresses.map((a) => (a.dev === "mape" ? { ...a, dev: "tun0" } : a)),
    routes: host.routes.map((r) => (r.dev === "mape" ? { ...r, dev: "tun0" } : r)),
  };
  const findings = failing(input(tun0, fixture("mapectl"), { vyos: true }));
  assert.deepEqual(findings[0]?.vyosFix, [
    `set interfaces tunnel tun0 remote ${BIGLOBE_BR}`,
    `set protocols static route6 ${BIGLOBE_BR}/128 next-hop ${GW} interface eth1`,
    "commit",
  ]);
  // a tunnel made with ip (the seed's "mape") is not in VyOS's configuration: the fix defines tun0
  const foreign = failing(input(host, fixture("mapectl"), { vyos: true }))[0]?.vyosFix ?? [];
  assert.match(foreign[0] ?? "", /mape was made outside VyOS's configuration.*sudo ip link del mape/);
  assert.ok(foreign.includes(`set interfaces tunnel tun0 remote ${BIGLOBE_BR}`));
  assert.ok(foreign.includes("set interfaces tunnel tun0 parameters ipv6 encaplimit none"));
  assert.ok(foreign.includes(`set interfaces tunnel tun0 source-address ${CE}`));
});

test("the nft pitfall that keeps one port per block is caught", () => {
  const f = failing(input(hostWith(tunnelLink({})), fixture("broken"))).find(
    (x) => x.id === "nat-port-coverage",
  );
  assert.match(f?.summary ?? "", /covers 15 of the 240 ports.*only the first port/);
});

test("masquerade on the tunnel translates outside the port set", () => {
  const ids = failing(input(hostWith(tunnelLink({})), fixture("masq"))).map((f) => f.id);
  assert.ok(ids.includes("nat-outside-port-set"));
  assert.ok(ids.includes("nat-icmp"));
});

test("a NAT limited to the LAN range leaves the router's own traffic untranslated", () => {
  const seed = fixture("seed") as { nftables: { rule?: { comment?: string } }[] };
  const onlyLan = { nftables: seed.nftables.filter((i) => i.rule?.comment !== "SRC-NAT-210") };
  const ids = failing(input(hostWith(tunnelLink({})), onlyLan)).map((f) => f.id);
  assert.ok(ids.includes("nat-source-restricted"), ids.join());
});

test("per-block chains reached from a numgen verdict map count together", () => {
  const f = failing(input(hostWith(tunnelLink({})), fixture("vmap"))).find(
    (x) => x.id === "nat-port-coverage",
  );
  assert.match(f?.summary ?? "", /covers 32 of the 240 ports/);
});

test("a missing CE address, an on-link BR route, a duplicate CE", () => {
  assert.equal(
    failing(input(hostWith(tunnelLink({}), { ceOnWan: false }), fixture("mapectl")))[0]?.id,
    "ce-address-missing",
  );
  const onLink = failing(
    input(hostWith(tunnelLink({})), fixture("mapectl"), { brRoute: { gateway: null, dev: "eth1" } }),
  );
  assert.equal(onLink[0]?.id, "br-route");
  assert.ok(onLink[0].fix[0]?.includes(`via ${GW} dev eth1`));
  assert.equal(
    failing(input(hostWith(tunnelLink({})), fixture("mapectl"), { brRoute: null }))[0]?.id,
    "br-route",
  );
  assert.equal(
    failing(input(hostWith(tunnelLink({}), { dadFailed: true }), fixture("mapectl")))[0]?.id,
    "ce-address-duplicate",
  );
});

test("the RFC 7597 interface ID on a draft-03 line is named as such", () => {
  const f = failing(
    input(hostWith(tunnelLink({ local: "2404:7a82:4d02:4100:0:85d1:d02:41" })), fixture("mapectl")),
  )[0];
  assert.equal(f?.id, "ce-address-mismatch");
  assert.match(f.summary, /uses the rfc7597 interface ID, but this BR expects draft-03/);
});

test("a CE address of an old prefix is reported as a prefix change", () => {
  const old = "2404:7a82:4d02:4000:85:d10d:200:4000"; // the CE of 2404:7a82:4d02:4000::/56
  const f = failing(input(hostWith(tunnelLink({ local: old })), fixture("mapectl")))[0];
  assert.equal(f?.id, "prefix-changed");
  assert.match(f.summary, /old prefix 2404:7a82:4d02:4000::\/56.*now has 2404:7a82:4d02:4100::\/56/);
});

test("no tunnel at all, and a DS-Lite line", () => {
  const host = hostWith(tunnelLink({}));
  const none = runChecks(
    input({ ...host, links: host.links.filter((l) => l.kind !== "ip6tnl") }, fixture("mapectl")),
  );
  assert.equal(none.findings[0]?.id, "tunnel-missing");
  const dslite = runChecks(
    input(host, fixture("mapectl"), {
      expected: { error: "this line uses DS-Lite (transix), not MAP-E", notMape: true },
    }),
  );
  assert.equal(dslite.findings[0]?.id, "not-mape-line");
  assert.equal(dslite.findings[0].verdict, "fail");
});

test("an IPv4 default route elsewhere, and MTU above 1460", () => {
  const host = hostWith(tunnelLink({ mtu: 1480 }));
  const other = {
    ...host,
    routes: host.routes.map((r) => (r.family === 4 ? { ...r, dev: "eth0", gateway: "192.0.2.1" } : r)),
  };
  const ids = failing(input(other, fixture("mapectl"))).map((f) => f.id);
  assert.deepEqual(ids, ["ipv4-default-route", "mtu-mss"]);
});

/** A fold table as nft -j lists it: every check passes, and every port of the set is used. */
function assertHealthyFold(name: string): void {
  const healthy = runChecks(input(hostWith(tunnelLink({})), fixture(name)));
  assert.deepEqual(
    healthy.findings.filter((f) => f.verdict !== "ok"),
    [],
  );
  assert.match(
    healthy.findings.find((f) => f.id === "nat-port-coverage")?.summary ?? "",
    /uses all 240 ports/,
  );
}

test("the fold allocator (snat to 16-255, folded after NAT into the set) is judged by its wire ports", () => {
  // nft -j of the fold table with the per-host limit (test/fixtures/nft/mapectl-fold-table-…)
  assertHealthyFold("mapectl-fold");
  type Item = { map?: { name: string; elem: [number, number][] }; rule?: { chain: string } };
  const ruleset = fixture("mapectl-fold") as { nftables: Item[] };
  // a fold element that leaves the set: port 17 goes out as 5200, another PSID's
  const wrong = {
    nftables: ruleset.nftables.map((i) =>
      i.map?.name === "fold-port"
        ? { map: { ...i.map, elem: i.map.elem.map(([a, b]) => [a, a === 17 ? 5200 : b]) } }
        : i,
    ),
  };
  const outside = failing(input(hostWith(tunnelLink({})), wrong)).find(
    (f) => f.id === "nat-outside-port-set",
  );
  assert.match(outside?.summary ?? "", /ports 5200 are outside PSID 65's set/);
  // without its fold chain, the allocation range itself goes on the wire
  const unfolded = { nftables: ruleset.nftables.filter((i) => i.rule?.chain !== "fold") };
  const ids = failing(input(hostWith(tunnelLink({})), unfolded)).map((f) => f.id);
  assert.ok(ids.includes("nat-outside-port-set") && ids.includes("nat-icmp"), ids.join());
});

test("the fold on the tunnel device (netdev egress, beside the fast path) is judged by its wire ports", () => {
  // nft -j of both tables as the netdev layout loads them (test/fixtures/nft/mapectl-fold-netdev-…)
  assertHealthyFold("mapectl-fold-netdev");
  // without the egress chain, the allocation range itself goes on the wire
  type Item = { rule?: { family: string; chain: string } };
  const ruleset = fixture("mapectl-fold-netdev") as { nftables: Item[] };
  const unfolded = {
    nftables: ruleset.nftables.filter((i) => !(i.rule?.family === "netdev" && i.rule.chain === "fold")),
  };
  const ids = failing(input(hostWith(tunnelLink({})), unfolded)).map((f) => f.id);
  assert.ok(ids.includes("nat-outside-port-set") && ids.includes("nat-icmp"), ids.join());
});
