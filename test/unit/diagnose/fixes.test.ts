import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runChecks, type DoctorInput } from "../../../src/diagnose/checks.ts";
import type { Finding } from "../../../src/diagnose/findings.ts";
import { analyzeNat } from "../../../src/diagnose/nat-analysis.ts";
import { refusedIsAnswer } from "../../../src/cli/actions/doctor.ts";
import type { HostState, ObservedAddress, ObservedLink, ObservedRoute } from "../../../src/plan/observed.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { renderVyos } from "../../../src/render/vyos.ts";
import { planFor } from "../../helpers/plans.ts";
import { addr, link } from "../../helpers/observed-hosts.ts";
import { doctorInput, seedResolved } from "./fixtures/doctor-input.ts";
import { checkSet, loadSchema } from "../render/vyos-schema.ts";

// What the lab proof of doctor (test/lab/doctor.test.ts) found wrong in the fixes, pinned here.
const PREFIX = "2404:7a82:4d02:4100::/56";
const CE = "2404:7a82:4d02:4100:85:d10d:200:4100";
const RFC7597_CE = "2404:7a82:4d02:4100:0:85d1:d02:41";
const BR = "2001:260:700:1::1:275";
const JPNE_BR = "2404:9200:225:100::64";
const GW = "fe80::1";

interface Ruleset {
  nftables: unknown[];
}

function fixture(name: string): Ruleset {
  const url = new URL(`../../fixtures/nft/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Ruleset;
}

/** A global host address: a /128 when IPv6, a /32 when IPv4. */
function address(dev: string, a: string, extra: Partial<ObservedAddress> = {}): ObservedAddress {
  return { ...(a.includes(":") ? addr(dev, a, 128, 6) : addr(dev, a, 32, 4)), ...extra };
}

function route(family: 4 | 6, dst: string, dev: string, gateway: string | null = null): ObservedRoute {
  return { family, dst, gateway, dev, protocol: "boot", metric: 1024, type: "unicast" };
}

function tunnel(
  name = "mape",
  local = CE,
  remote = BR,
  extra: { mtu?: number; encapLimit?: number | "none" } = {},
): ObservedLink {
  const encapLimit = extra.encapLimit ?? "none";
  const info = { mode: "ip4ip6", local, remote, link: "wan0", encapLimit } as const;
  return link(name, { index: 9, mtu: extra.mtu ?? 1460, kind: "ip6tnl", tunnel: info });
}

function host(
  options: {
    tunnels?: ObservedLink[];
    addresses?: ObservedAddress[];
    routes?: ObservedRoute[];
  } = {},
): HostState {
  return {
    links: [
      { name: "wan0", index: 2, mtu: 1500, up: true, kind: null, tunnel: null, stats: null },
      ...(options.tunnels ?? [tunnel()]),
    ],
    addresses: options.addresses ?? [address("wan0", CE), address("mape", "133.209.13.2")],
    routes: options.routes ?? [
      route(6, "default", "wan0", GW),
      { ...route(6, PREFIX, "lo"), type: "unreachable" },
      route(4, "default", "mape"),
    ],
    ipv4Forwarding: true,
    nftTable: null,
  };
}

const resolved = seedResolved;

function input(h: HostState, extra: Partial<DoctorInput> = {}): DoctorInput {
  return doctorInput(h, fixture("mapectl"), { wan: "wan0", gateway: GW }, extra);
}

/** `nft -j list ruleset` of one NAT chain "post" in table ip `table`: its rules as [handle, expressions]. */
function natChain(table: string, prio: number, rules: [number, unknown[]][]): Ruleset {
  return {
    nftables: [
      { chain: { family: "ip", table, name: "post", type: "nat", hook: "postrouting", prio } },
      ...rules.map(([handle, expr]) => ({ rule: { family: "ip", table, chain: "post", handle, expr } })),
    ],
  };
}
const OIF_MAPE = { match: { op: "==", left: { meta: { key: "oifname" } }, right: "mape" } };

const failing = (i: DoctorInput): Finding[] => runChecks(i).findings.filter((f) => f.verdict === "fail");

test("a FAILED entry for the BR itself, left from an on-link route, is no fault once the route has a gateway", () => {
  const stale = { address: BR, dev: "wan0", state: ["FAILED"] };
  assert.deepEqual(failing(input(host(), { neighbours: [stale] })), []);
  // the next hop's own entry is what counts
  const dead = failing(
    input(host(), { neighbours: [stale, { address: GW, dev: "wan0", state: ["FAILED"] }] }),
  );
  assert.equal(dead[0]?.id, "br-route");
  assert.match(dead[0].summary, /next hop fe80::1 towards the BR does not answer/);
  // on-link: the BR's entry is the evidence
  const onLink = failing(input(host(), { neighbours: [stale], brRoute: { gateway: null, dev: "wan0" } }));
  assert.match(onLink[0]?.summary ?? "", /routed on-link.*neighbour entry FAILED/);
});

test("with no route to the BR and no IPv6 default route, the fix still names the WAN's router", () => {
  const noDefault = host({ routes: [route(4, "default", "mape")] });
  const viaRouter = failing(
    input(noDefault, {
      brRoute: null,
      neighbours: [{ address: "fe80::a611:bbff:fe7d:ee11", dev: "wan0", state: ["STALE"], router: true }],
    }),
  );
  assert.equal(viaRouter[0]?.id, "br-route");
  assert.deepEqual(viaRouter[0].fix, [
    `ip -6 route replace ${BR}/128 via fe80::a611:bbff:fe7d:ee11 dev wan0`,
  ]);
  const fromState = failing(input(noDefault, { brRoute: null, knownGateway: GW }));
  assert.deepEqual(fromState[0]?.fix, [`ip -6 route replace ${BR}/128 via ${GW} dev wan0`]);
  // nothing known: a placeholder that says what to put there, never a command that looks complete
  const unknown = failing(input(noDefault, { brRoute: null }))[0]?.fix ?? [];
  assert.match(unknown[0] ?? "", /^# GATEWAY: the WAN's IPv6 router/);
  assert.equal(unknown[1], `ip -6 route replace ${BR}/128 via GATEWAY dev wan0`);
});

test("the CE address fix replaces the address and deletes the wrong one only where it is", () => {
  const h = host({
    tunnels: [tunnel("mape", RFC7597_CE)],
    addresses: [address("wan0", RFC7597_CE), address("mape", "133.209.13.2")],
  });
  const f = failing(input(h))[0];
  assert.equal(f?.id, "ce-address-mismatch");
  assert.deepEqual(f.fix, [
    `ip -6 addr replace ${CE}/128 dev wan0`,
    `ip -6 tunnel change mape mode ip4ip6 local ${CE} remote ${BR} dev wan0 encaplimit none`,
    `ip -6 addr del ${RFC7597_CE}/128 dev wan0`,
  ]);
  // the wrong address is not assigned anywhere: no `addr del` that would fail and stop the script
  const nowhere = failing(
    input(host({ tunnels: [tunnel("mape", RFC7597_CE)], addresses: [address("mape", "133.209.13.2")] })),
  );
  assert.equal(nowhere[0]?.id, "ce-address-mismatch");
  assert.ok(!nowhere[0].fix.some((c) => c.includes("addr del")), nowhere[0].fix.join("\n"));
});

test("prefix-changed: mapectl's router gets `mapectl up`, a hand-made one every line that follows the prefix", () => {
  const old = "2404:7a82:4d03:4000:85:d10d:300:4000"; // the CE of 2404:7a82:4d03:4000::/56: 133.209.13.3, PSID 64
  const h = host({
    tunnels: [tunnel("mape", old)],
    addresses: [address("wan0", old), address("mape", "133.209.13.3")],
  });
  const made = failing(input(h, { reapply: "mapectl up --wan wan0 --lan lan0" }))[0];
  assert.equal(made?.id, "prefix-changed");
  assert.deepEqual(made.fix, ["mapectl up --wan wan0 --lan lan0"]);
  const byHand = failing(input(h))[0];
  assert.equal(byHand?.id, "prefix-changed");
  assert.deepEqual(byHand.fix.slice(0, 5), [
    `ip -6 addr replace ${CE}/128 dev wan0`,
    `ip -6 tunnel change mape mode ip4ip6 local ${CE} remote ${BR} dev wan0 encaplimit none`,
    `ip -6 addr del ${old}/128 dev wan0`,
    "ip -4 addr replace 133.209.13.2/32 dev mape",
    "ip -4 addr del 133.209.13.3/32 dev mape",
  ]);
  assert.match(byHand.fix[5] ?? "", /^nft -f - <<'EOF'\n# mapectl: MAP-E NAPT for 133\.209\.13\.2 \(PSID 65/);
});

test("NAT chains run in priority order: mapectl's table at srcnat - 1 shadows VyOS's one-block rules", () => {
  const seed = fixture("seed");
  const mapectl = fixture("mapectl");
  // VyOS's table listed first, mapectl's after it: the kernel still runs mapectl's first
  const both = {
    nftables: [...seed.nftables, ...mapectl.nftables.filter((i) => !("metainfo" in (i as object)))],
  };
  const rules = analyzeNat(both);
  assert.equal(rules[0]?.where.startsWith("ip mapectl "), true, JSON.stringify(rules[0]));
  assert.deepEqual(
    failing(input(host(), { ruleset: both })).map((f) => f.id),
    [],
  );
  // the same tables at equal priority keep nft's order: VyOS's one block wins and is reported
  const equal = JSON.parse(JSON.stringify(both).replaceAll('"prio":99', '"prio":100')) as unknown;
  const ids = failing(input(host(), { ruleset: equal })).map((f) => f.id);
  assert.ok(ids.includes("nat-port-coverage"), ids.join());
});

test("VyOS NAT fixes name the rules by number", () => {
  const seed = fixture("seed");
  const f = failing(input(host(), { ruleset: seed, vyos: true })).find((x) => x.id === "nat-port-coverage");
  assert.deepEqual(f?.vyosFix?.slice(1, 4), [
    "delete nat source rule 200",
    "delete nat source rule 210",
    "commit",
  ]);
  const onlyLan = {
    nftables: seed.nftables.filter(
      (i) => (i as { rule?: { comment?: string } }).rule?.comment !== "SRC-NAT-210",
    ),
  };
  const restricted = failing(input(host(), { ruleset: onlyLan })).find(
    (x) => x.id === "nat-source-restricted",
  );
  assert.deepEqual(restricted?.vyosFix, ["delete nat source rule 200 source address", "commit"]);
});

test("ICMP that falls through to a port-less snat is nat-icmp, not nat-outside-port-set", () => {
  const ports = resolved().params.portSets.map(([lo, hi], i) => [
    i,
    { concat: ["133.209.13.2", { range: [lo, hi] }] },
  ]);
  const numgen = { key: { numgen: { mode: "inc", mod: 15, offset: 0 } }, data: { set: ports } };
  const tcpUdp = { match: { op: "==", left: { meta: { key: "l4proto" } }, right: { set: ["tcp", "udp"] } } };
  const rules = natChain("t", 100, [
    [4, [OIF_MAPE, tcpUdp, { snat: { addr: { map: numgen } } }]],
    [5, [OIF_MAPE, { snat: { addr: "133.209.13.2" } }]],
  ]);
  const found = failing(input(host(), { ruleset: rules })).filter((f) => f.id.startsWith("nat-"));
  assert.deepEqual(
    found.map((f) => f.id),
    ["nat-icmp"],
  );
  assert.match(found[0]?.summary ?? "", /snat to 133\.209\.13\.2 keeps the echo id/);
});

test("a DS-Lite line: the fix replaces MAP-E with a B4 tunnel to the AFTR; once there, a warning only", () => {
  const transix = "2404:8e00:1234:5600::/56";
  const line = { kind: "ds-lite" as const, service: "transix", aftr: "2404:8e00::feed:100", prefix: transix };
  const error = { error: `${transix} is a transix prefix: DS-Lite`, notMape: true, line };
  const h = host({
    addresses: [
      address("wan0", CE),
      address("lan0", "2404:8e00:1234:5600::1"),
      address("mape", "133.209.13.2"),
    ],
  });
  const f = runChecks(input(h, { expected: error, reapply: "mapectl up --wan wan0" })).findings[0];
  assert.equal(f?.id, "not-mape-line");
  assert.equal(f.verdict, "fail");
  assert.deepEqual(f.fix, [
    "mapectl down",
    "ip -6 tunnel add dslite mode ip4ip6 local 2404:8e00:1234:5600::1 remote 2404:8e00::feed:100 dev wan0 encaplimit none",
    "ip link set dev dslite mtu 1460 up",
    "ip -4 route replace default dev dslite",
  ]);
  const after = host({
    tunnels: [tunnel("dslite", "2404:8e00:1234:5600::1", "2404:8e00::feed:100")],
    addresses: [address("lan0", "2404:8e00:1234:5600::1")],
    routes: [route(6, "default", "wan0", GW), route(4, "default", "dslite")],
  });
  const done = runChecks(input(after, { expected: error }));
  assert.deepEqual(
    done.findings.map((x) => [x.id, x.verdict]),
    [["not-mape-line", "warn"]],
  );
});

test("the VyOS lines doctor gives are ones VyOS accepts", () => {
  const schema = loadSchema([
    "interfaces_tunnel.xml.in",
    "interfaces_ethernet.xml.in",
    "protocols_static.xml.in",
  ]);
  const seedHost = host({ tunnels: [tunnel("mape", CE, JPNE_BR, { mtu: 1452, encapLimit: 4 })] });
  const transix = "2404:8e00:1234:5600::/56";
  const all = [
    ...failing(input(seedHost, { ruleset: fixture("seed"), vyos: true, wan: "eth1" })),
    ...failing(
      input(host({ tunnels: [tunnel("tun0", RFC7597_CE)], addresses: [] }), { vyos: true, wan: "eth1" }),
    ),
    ...failing(
      input(host({ addresses: [address("eth2", "2404:8e00:1234:5600::1")] }), {
        vyos: true,
        wan: "eth1",
        expected: {
          error: "DS-Lite",
          notMape: true,
          line: { kind: "ds-lite", service: "transix", aftr: "2404:8e00::feed:100", prefix: transix },
        },
      }),
    ),
  ];
  const sets = all.flatMap((f) => f.vyosFix ?? []).filter((l) => l.startsWith("set "));
  assert.ok(sets.length >= 18, sets.join("\n"));
  assert.ok(sets.includes("set interfaces tunnel tun1 remote 2404:8e00::feed:100"), sets.join("\n"));
  for (const line of sets) assert.equal(checkSet(schema, line), null, line);
});

test("--probe: a refused TCP connection proves the path", () => {
  assert.deepEqual(
    refusedIsAnswer({
      name: "tcp",
      target: "8.8.8.8:53",
      ok: false,
      detail: "connect ECONNREFUSED 8.8.8.8:53",
    }).ok,
    true,
  );
  assert.equal(
    refusedIsAnswer({ name: "tcp", target: "8.8.8.8:53", ok: false, detail: "no answer in 2000 ms" }).ok,
    false,
  );
});

test("a tunnel taken down lost its IPv4 routes: the fix brings both back", () => {
  const down = host({ tunnels: [{ ...tunnel(), up: false }], routes: [route(6, "default", "wan0", GW)] });
  const f = failing(input(down))[0];
  assert.equal(f?.id, "tunnel-down");
  assert.deepEqual(f.fix, ["ip link set dev mape up", "ip -4 route replace default dev mape"]);
});

test("no tunnel: reported on a MAP-E line and on one without a prefix yet, not on a DS-Lite line", () => {
  const none = host({ tunnels: [] });
  const noPrefix = { error: "no IPv6 prefix found on wan0", notMape: false };
  assert.deepEqual(
    runChecks(input(none, { expected: noPrefix })).findings.map((f) => [f.id, f.verdict]),
    [
      ["tunnel-missing", "fail"],
      ["not-mape-line", "warn"],
    ],
  );
  const dsLite = {
    error: "DS-Lite",
    notMape: true,
    line: {
      kind: "ds-lite" as const,
      service: "transix",
      aftr: "2404:8e00::feed:100",
      prefix: "2404:8e00::/56",
    },
  };
  assert.deepEqual(
    runChecks(input(none, { expected: dsLite })).findings.map((f) => f.id),
    ["not-mape-line"],
  );
});

test("a wrong NAT rule in a chain that runs before mapectl's is deleted by handle in the fix", () => {
  const early = natChain("fw", 50, [[7, [OIF_MAPE, { masquerade: null }]]]);
  const f = failing(input(host(), { ruleset: early }))[0];
  assert.equal(f?.id, "nat-outside-port-set");
  assert.equal(f.fix[0], "nft delete rule ip fw post handle 7");
  assert.match(f.fix[1] ?? "", /^nft -f - <<'EOF'\n/);
});

test("doctor's NAT table and VyOS tunnel definition are the ones render gives for the same line", () => {
  const old = "2404:7a82:4d03:4000:85:d10d:300:4000";
  const h = host({ tunnels: [tunnel("mape", old)], addresses: [address("wan0", old)] });
  const plan = planFor(PREFIX);
  const f = failing(input(h))[0];
  assert.equal(f?.id, "prefix-changed");
  assert.equal(f.fix.at(-1), `nft -f - <<'EOF'\n${renderNftables(plan)}EOF`);
  // a tunnel VyOS does not know: the whole tun0 definition, line for line what render --target vyos sets
  const limited = host({ tunnels: [tunnel("mape", CE, BR, { encapLimit: 4 })] });
  const definition = failing(input(limited, { vyos: true, wan: "eth1" }))[0]?.vyosFix ?? [];
  const rendered = renderVyos({ ...plan, wan: "eth1" }).files[0]?.content.split("\n") ?? [];
  const sets = definition.filter((l) => l.startsWith("set "));
  assert.equal(sets.length, 10, definition.join("\n"));
  assert.ok(
    definition.some((l) =>
      l.startsWith("# only where IPv6 must not leave by eth1's default route: set protocols static route6"),
    ),
    "the pinned BR route is only a commented alternative, as in render",
  );
  for (const line of sets) assert.ok(rendered.includes(line), `render --target vyos has: ${line}`);
});

test("on a VLAN WAN the VyOS fixes name the vif, as VyOS's configuration has it", () => {
  const schema = loadSchema(["interfaces_ethernet.xml.in"]);
  const f = failing(
    input(host({ addresses: [address("mape", "133.209.13.2")] }), { vyos: true, wan: "eth1.10" }),
  )[0];
  assert.equal(f?.id, "ce-address-missing");
  assert.deepEqual(f.vyosFix, [`set interfaces ethernet eth1 vif 10 address ${CE}/128`, "commit"]);
  assert.equal(checkSet(schema, f.vyosFix[0] ?? ""), null);
});
