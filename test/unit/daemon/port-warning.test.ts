import assert from "node:assert/strict";
import { test } from "node:test";
import { periodicFrom } from "../../../src/cli/actions/watch.ts";
import { hostLimitWarning, hostsAtLimit } from "../../../src/daemon/port-warning.ts";
import { portWarning } from "../../../src/daemon/watch.ts";
import type { NatFlow } from "../../../src/plan/port-usage.ts";

// The daemon's warnings and options as pure functions (the Watcher's timing is in watch.test.ts).

test("portWarning: 2,000 flows to many destinations fit in 240 ports; 200 to one do not", () => {
  const many: NatFlow[] = Array.from({ length: 2000 }, (_, i) => ({
    protocol: "tcp",
    insideSource: `192.168.1.${10 + (i % 4)}`,
    destination: `198.18.0.${1 + (i % 40)}:7`,
    outsidePort: 5136 + (i % 240),
  }));
  assert.equal(portWarning(many, 240, 0.8), null);
  const one = many.slice(0, 200).map((f) => ({ ...f, destination: "8.8.8.8:7" }));
  assert.match(
    portWarning(one, 240, 0.8) ?? "",
    /towards tcp 8\.8\.8\.8:7: 200 of 240 in use \(83%, 200 flows in all\)/,
  );
  // udp and tcp to the same address and port are separate spaces
  const mixed = one.map((f, i) => ({ ...f, protocol: i % 2 === 0 ? "tcp" : "udp" }));
  assert.equal(portWarning(mixed, 240, 0.8), null);
});

test("hostsAtLimit: a host with as many open flows as the limit is named; closed TCP flows do not count", () => {
  const flow = (host: string, closed = false): NatFlow => ({
    protocol: "tcp",
    insideSource: host,
    destination: "198.18.0.1:7",
    outsidePort: 20,
    ...(closed ? { closed } : {}),
  });
  const flows = [
    ...Array.from({ length: 5 }, () => flow("192.168.1.20")),
    ...Array.from({ length: 4 }, () => flow("192.168.1.10")),
    ...Array.from({ length: 3 }, () => flow("192.168.1.10", true)),
  ];
  assert.deepEqual(hostsAtLimit(flows, 5), ["192.168.1.20"]);
  assert.deepEqual(hostsAtLimit(flows, 4), ["192.168.1.10", "192.168.1.20"]);
  assert.deepEqual(hostsAtLimit(flows, null), []);
  assert.match(
    hostLimitWarning("192.168.1.20", 5),
    /LAN host 192\.168\.1\.20 .*max-ports-per-host = 5.*refused/,
  );
});

test("--periodic takes whole seconds from 1; NaN or 0 would re-check every millisecond", () => {
  assert.equal(periodicFrom(undefined), 60_000);
  assert.equal(periodicFrom("5"), 5000);
  for (const bad of ["0", "abc", "-1", "1.5", ""]) assert.throws(() => periodicFrom(bad), /--periodic/);
});
