import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConntrack, portUsage, type NatFlow } from "../../src/plan/port-usage.ts";
import { describePorts, type PortsReport } from "../../src/cli/actions/ports.ts";
import { OCN_PREFIX, USER_PREFIX, planFor } from "../helpers/plans.ts";

const plan = planFor(USER_PREFIX);

function flow(protocol: string, insideSource: string, destination: string, outsidePort: number): NatFlow {
  return { protocol, insideSource, destination, outsidePort };
}

const FLOWS: NatFlow[] = [
  flow("tcp", "192.168.1.2", "8.8.8.8:443", 5136),
  flow("tcp", "192.168.1.2", "1.1.1.1:443", 5136), // same port, another destination: the kernel may reuse it
  flow("tcp", "192.168.1.2", "8.8.8.8:443", 9232),
  flow("udp", "192.168.1.3", "8.8.8.8:53", 5136),
  flow("udp", "192.168.1.2", "1.1.1.1:53", 62495),
  flow("icmp", "192.168.1.4", "8.8.8.8", 13330),
  flow("tcp", "192.168.1.9", "9.9.9.9:443", 40001), // outside the set: counts nowhere but outsideSet
];

test("headroom counts ports no flow uses, per protocol, the tightest as the total", () => {
  const usage = portUsage(FLOWS, plan.portSets, plan.portCount);
  assert.deepEqual(usage.headroom.perProtocol, {
    tcp: { inUse: 2, free: 238 },
    udp: { inUse: 2, free: 238 },
    icmp: { inUse: 1, free: 239 },
  });
  assert.equal(usage.headroom.free, 238);
  assert.equal(usage.outsideSet, 1);
  assert.equal(usage.perBlock[0]?.used, 3);
});

test("the busiest hosts and destinations come most first, ties in order of their name", () => {
  const usage = portUsage(FLOWS, plan.portSets, plan.portCount);
  assert.deepEqual(usage.busiestHosts, [
    { address: "192.168.1.2", flows: 4, open: 4 },
    { address: "192.168.1.3", flows: 1, open: 1 },
    { address: "192.168.1.4", flows: 1, open: 1 },
    { address: "192.168.1.9", flows: 1, open: 1 },
  ]);
  assert.equal(usage.perHostLimit, null);
  assert.deepEqual(usage.busiestDestinations.slice(0, 2), [
    { destination: "8.8.8.8:443", flows: 2 },
    { destination: "1.1.1.1:443", flows: 1 },
  ]);
  const many = Array.from({ length: 12 }, (_, i) => flow("udp", `10.0.0.${i}`, `192.0.2.${i}:53`, 5137));
  assert.equal(portUsage(many, plan.portSets, plan.portCount).busiestHosts.length, 5);
});

test("no flows: every port free, nobody busiest", () => {
  const usage = portUsage(parseConntrack("", "133.209.13.2"), plan.portSets, plan.portCount);
  assert.equal(usage.headroom.free, 240);
  assert.deepEqual(usage.busiestHosts, []);
  assert.deepEqual(usage.busiestDestinations, []);
});

function report(flows: NatFlow[]): PortsReport {
  return {
    schemaVersion: 1,
    method: "map-e",
    at: "2026-01-01T00:00:00.000Z",
    ipv4Address: "133.209.13.2",
    psid: 65,
    tunnel: "mape",
    ...portUsage(flows, plan.portSets, plan.portCount),
  };
}

test("ports prints totals, headroom, a line per block and the busiest, aligned", () => {
  const text = describePorts(report(FLOWS));
  const lines = text.split("\n");
  assert.equal(lines[0], "mapectl ports: 133.209.13.2 PSID 65, 240 ports in 15 blocks");
  assert.match(text, /^ {2}flows {5}7 \(tcp 4, udp 2, icmp 1\)$/m);
  assert.match(text, /^ {2}headroom {2}238 of 240 ports free \(tcp 238, udp 238, icmp 239\)$/m);
  assert.match(text, /warning: 1 flow uses a port outside the port set: the BR drops them/);
  assert.match(text, /^ {4}5136-5151 {4}3 {2}███░{13}$/m);
  assert.match(text, /^ {4}62480-62495 {2}1 {2}█░{15}$/m);
  assert.equal(lines.filter((l) => /^ {4}\d+-\d+ /.test(l)).length, 15);
  assert.match(text, /busiest inside hosts \(flows\)\n {4}192\.168\.1\.2 {2}4\n/);
  assert.match(text, /busiest destinations \(flows\)\n {4}8\.8\.8\.8:443 {2}2\n/);
});

test("63 blocks (OCN) are laid out in three columns of 21", () => {
  const ocn = planFor(OCN_PREFIX);
  const text = describePorts({ ...report([]), ...portUsage([], ocn.portSets, ocn.portCount), psid: 22 });
  const rows = text.split("\n").filter((l) => /^ {4}\d+-\d+ /.test(l));
  assert.equal(rows.length, 21);
  assert.match(
    rows[0] ?? "",
    /^ {4}1376-1391 +0 {2}░{8} {4}22880-22895 +0 {2}░{8} {4}44384-44399 +0 {2}░{8}$/,
  );
});

test("ports on an idle line says none rather than an empty list", () => {
  const text = describePorts(report([]));
  assert.match(text, /flows {5}0 \(none\)/);
  assert.match(text, /busiest inside hosts \(flows\)\n {4}none\n/);
});
