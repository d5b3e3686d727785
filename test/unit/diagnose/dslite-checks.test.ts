import assert from "node:assert/strict";
import { test } from "node:test";
import { dsLiteChecks, expectationOf, type DsLiteDoctorInput } from "../../../src/diagnose/checks/dslite.ts";
import type { HostState } from "../../../src/plan/observed.ts";
import { addr, hostAfterUp, plannedTunnel, route } from "../../helpers/observed-hosts.ts";
import { dsLiteCasePlan } from "../render/cases.ts";

const plan = dsLiteCasePlan();
const AFTR = plan.tunnel.remote;
const OTHER_AFTR = "2404:8e00::feed:200";

const oifname = (name: string) => ({ match: { op: "==", left: { meta: { key: "oifname" } }, right: name } });
/** mapectl's DS-Lite table as `nft -j` prints it: only the MSS clamp matters here. */
const CLAMP = {
  rule: {
    family: "ip",
    table: "mapectl",
    chain: "forward",
    handle: 3,
    expr: [
      oifname(plan.tunnel.name),
      { mangle: { key: { "tcp option": { name: "maxseg", field: "size" } }, value: { rt: { key: "mtu" } } } },
    ],
  },
};
const NAT_CHAIN = {
  chain: { family: "ip", table: "nat", name: "post", type: "nat", hook: "postrouting", prio: 100 },
};
const MASQUERADE = {
  rule: {
    family: "ip",
    table: "nat",
    chain: "post",
    handle: 7,
    expr: [oifname(plan.tunnel.name), { masquerade: null }],
  },
};

/** A router where the B4 works: what `up` leaves, the AFTR's name resolving to the tunnel's remote. */
function working(
  extra: Partial<DsLiteDoctorInput> = {},
  host: HostState = hostAfterUp(plan),
): DsLiteDoctorInput {
  return {
    host: { ...host, addresses: [...host.addresses, addr(plan.wan, plan.tunnel.local, 64)] },
    ruleset: { nftables: [CLAMP] },
    expect: expectationOf(plan),
    aftr: { name: "gw.transix.jp", from: "tables", address: AFTR, problem: null },
    aftrRoute: { gateway: plan.gateway, dev: plan.wan },
    reapply: "mapectl up",
    ...extra,
  };
}

const notOk = (input: DsLiteDoctorInput) =>
  dsLiteChecks(input)
    .filter((f) => f.verdict !== "ok")
    .map((f) => f.id);

/** The host with something taken away or changed. */
function broken(change: (h: HostState) => Partial<HostState>): HostState {
  const h = hostAfterUp(plan);
  return { ...h, ...change(h) };
}

test("a working B4 passes every DS-Lite check", () => {
  const findings = dsLiteChecks(working());
  assert.deepEqual(notOk(working()), []);
  assert.deepEqual(findings.map((f) => f.id).sort(), [
    "dslite.aftr-name-unresolved",
    "dslite.aftr-unreachable",
    "dslite.b4-address-missing",
    "dslite.default-route-missing",
    "dslite.ipv4-forwarding",
    "dslite.mtu-mss",
    "dslite.nat-on-router",
    "dslite.tunnel-down",
    "dslite.tunnel-mismatch",
    "dslite.tunnel-missing",
  ]);
});

test("the AFTR's name not resolving is the first finding, with the resolver's words and the way out", () => {
  const problem =
    "the AFTR name gw.transix.jp (from tables) does not resolve to an IPv6 address via 2001:db8::53 within 5 s: the name does not exist";
  const input = working({
    aftr: { name: "gw.transix.jp", from: "tables", address: null, problem },
    aftrRoute: null,
  });
  const [first] = dsLiteChecks(input);
  assert.equal(first?.id, "dslite.aftr-name-unresolved");
  assert.equal(first.verdict, "fail");
  assert.match(first.summary, /does not resolve .*the name does not exist/);
  assert.ok(first.fix.some((l) => l.includes("--aftr ADDRESS")));
  assert.deepEqual(notOk(input), ["dslite.aftr-name-unresolved"]);
});

test("no route to the AFTR: dslite.aftr-unreachable, fixed by a route via the WAN's router", () => {
  const input = working({ aftrRoute: null });
  assert.deepEqual(notOk(input), ["dslite.aftr-unreachable"]);
  assert.deepEqual(dsLiteChecks(input)[0]?.fix, [
    `ip -6 route replace ${AFTR}/128 via ${plan.gateway} dev ${plan.wan}`,
  ]);
});

test("no tunnel: dslite.tunnel-missing alone (its address, route and MTU go with it)", () => {
  const input = working(
    {},
    broken((h) => ({ links: h.links.filter((l) => l.name !== plan.tunnel.name) })),
  );
  assert.deepEqual(notOk(input), ["dslite.tunnel-missing"]);
  assert.deepEqual(dsLiteChecks(input)[0]?.fix, ["mapectl up"]);
});

test("a tunnel to another AFTR (the name moved) or from another source: dslite.tunnel-mismatch", () => {
  const moved = working({
    aftr: { name: "gw.transix.jp", from: "tables", address: OTHER_AFTR, problem: null },
  });
  const [first] = dsLiteChecks(moved);
  assert.equal(first?.id, "dslite.tunnel-mismatch");
  assert.match(first.summary, new RegExp(`leads to ${AFTR}, not the AFTR ${OTHER_AFTR}`));
  assert.deepEqual(first.fix, [
    `ip -6 tunnel change ${plan.tunnel.name} mode ip4ip6 local ${plan.tunnel.local} remote ${OTHER_AFTR} dev ${plan.wan} encaplimit none`,
  ]);
  const wrongLocal = broken((h) => ({
    links: [
      ...h.links.filter((l) => l.name !== plan.tunnel.name),
      plannedTunnel({ ...plan, tunnel: { ...plan.tunnel, local: "2404:8e00:12:3400::99" } }),
    ],
  }));
  assert.equal(notOk(working({}, wrongLocal))[0], "dslite.tunnel-mismatch");
});

test("a tunnel that is down: dslite.tunnel-down first, its lost default route after it", () => {
  const down = broken((h) => ({
    links: h.links.map((l) => (l.name === plan.tunnel.name ? { ...l, up: false } : l)),
    routes: h.routes.filter((r) => r.dev !== plan.tunnel.name),
  }));
  assert.deepEqual(notOk(working({}, down)), ["dslite.tunnel-down", "dslite.default-route-missing"]);
});

test("192.0.0.2 gone from the tunnel: dslite.b4-address-missing, fixed by adding it back", () => {
  const input = working(
    {},
    broken((h) => ({ addresses: h.addresses.filter((a) => a.address !== "192.0.0.2") })),
  );
  assert.deepEqual(notOk(input), ["dslite.b4-address-missing"]);
  assert.deepEqual(dsLiteChecks(input)[0]?.fix, [`ip -4 addr add 192.0.0.2/29 dev ${plan.tunnel.name}`]);
  // as the kernel does it: the link's last IPv4 address takes its routes with it; the fix puts both back
  const asKernel = working(
    {},
    broken((h) => ({
      addresses: h.addresses.filter((a) => a.address !== "192.0.0.2"),
      routes: h.routes.filter((r) => r.dev !== plan.tunnel.name),
    })),
  );
  assert.deepEqual(notOk(asKernel), ["dslite.b4-address-missing", "dslite.default-route-missing"]);
  assert.deepEqual(dsLiteChecks(asKernel)[0]?.fix, [
    `ip -4 addr add 192.0.0.2/29 dev ${plan.tunnel.name}`,
    `ip -4 route add default dev ${plan.tunnel.name} proto 77 metric ${plan.defaultRouteMetric}`,
  ]);
});

test("a PD-only line whose ::b4 source is gone from the WAN: dslite.b4-address-missing", () => {
  const source = "2404:8e00:12:34ff::b4";
  const pd = { ...plan, addsSource: true, tunnel: { ...plan.tunnel, local: source } };
  const host = hostAfterUp(pd);
  assert.ok(
    host.addresses.some((a) => a.address === source),
    "up puts the source on the WAN",
  );
  const healthy: DsLiteDoctorInput = { ...working({}, host), expect: expectationOf(pd) };
  assert.deepEqual(notOk(healthy), []);
  const gone = { ...host, addresses: host.addresses.filter((a) => a.address !== source) };
  const input: DsLiteDoctorInput = { ...working({}, gone), host: gone, expect: expectationOf(pd) };
  const [first] = dsLiteChecks(input);
  assert.equal(first?.id, "dslite.b4-address-missing");
  assert.deepEqual(first.fix, [`ip -6 addr add ${source}/128 dev ${plan.wan} nodad`]);
  assert.deepEqual(notOk(input), ["dslite.b4-address-missing"]);
});

test("IPv4 default through another interface: dslite.default-route-missing", () => {
  const elsewhere = broken((h) => ({
    routes: [
      ...h.routes.filter((r) => !(r.family === 4 && r.dst === "default")),
      route({ family: 4, dst: "default", dev: "wan0", gateway: "192.168.0.1", metric: 0 }),
    ],
  }));
  const input = working({}, elsewhere);
  assert.deepEqual(notOk(input), ["dslite.default-route-missing"]);
  const [first] = dsLiteChecks(input);
  assert.match(first?.summary ?? "", /goes through wan0, not dslite/);
  assert.ok(
    first?.fix.includes(`ip -4 route add default dev dslite proto 77 metric ${plan.defaultRouteMetric}`),
  );
});

test("IPv4 forwarding off with a LAN: dslite.ipv4-forwarding", () => {
  const input = working(
    {},
    broken(() => ({ ipv4Forwarding: false })),
  );
  assert.deepEqual(notOk(input), ["dslite.ipv4-forwarding"]);
});

test("no MSS clamp, or an MTU above the plan's: dslite.mtu-mss", () => {
  assert.deepEqual(notOk(working({ ruleset: { nftables: [] } })), ["dslite.mtu-mss"]);
  const big = broken((h) => ({
    links: h.links.map((l) => (l.name === plan.tunnel.name ? { ...l, mtu: 1500 } : l)),
  }));
  const [first] = dsLiteChecks(working({}, big));
  assert.equal(first?.id, "dslite.mtu-mss");
  assert.match(first.summary, /MTU is 1500, above the plan's 1460/);
});

test("a masquerade toward the tunnel: dslite.nat-on-router, a warning with the rule to delete", () => {
  const input = working({ ruleset: { nftables: [CLAMP, NAT_CHAIN, MASQUERADE] } });
  const findings = dsLiteChecks(input);
  assert.deepEqual(notOk(input), ["dslite.nat-on-router"]);
  assert.equal(findings[0]?.verdict, "warn");
  assert.deepEqual(findings[0].fix, ["nft delete rule ip nat post handle 7"]);
});

test("no AFTR known at all: the AFTR check fails, the tunnel checks still run", () => {
  const problem = "no AFTR for this line: none of HB46PP, DHCPv6, the tables names one";
  const input = working({ aftr: { name: null, from: "none", address: null, problem }, aftrRoute: null });
  assert.deepEqual(notOk(input), ["dslite.aftr-name-unresolved"]);
  assert.ok(dsLiteChecks(input).some((f) => f.id === "dslite.b4-address-missing" && f.verdict === "ok"));
});
