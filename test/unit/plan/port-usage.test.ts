import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConntrack, portUsage } from "../../../src/plan/port-usage.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

const CONNTRACK = `tcp      6 431999 ESTABLISHED src=192.168.1.2 dst=8.8.8.8 sport=40000 dport=443 src=8.8.8.8 dst=133.209.13.2 sport=443 dport=5140 [ASSURED] mark=0 use=1
udp      17 29 src=192.168.1.2 dst=1.1.1.1 sport=53000 dport=53 src=1.1.1.1 dst=133.209.13.2 sport=53 dport=9233 mark=0 use=1
icmp     1 29 src=192.168.1.3 dst=8.8.8.8 type=8 code=0 id=7 src=8.8.8.8 dst=133.209.13.2 type=0 code=0 id=62490 mark=0 use=1
tcp      6 10 TIME_WAIT src=192.168.1.2 dst=8.8.8.8 sport=40001 dport=443 src=8.8.8.8 dst=133.209.13.2 sport=443 dport=40001 [ASSURED] mark=0 use=1
tcp      6 300 ESTABLISHED src=192.168.1.1 dst=192.168.1.2 sport=22 dport=5000 src=192.168.1.2 dst=192.168.1.1 sport=5000 dport=22 [ASSURED] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 5 flow entries have been shown.`;

test("conntrack lines become NAT flows with their outside port or ICMP id", () => {
  const flows = parseConntrack(CONNTRACK, "133.209.13.2");
  assert.deepEqual(
    flows.map((f) => [f.protocol, f.insideSource, f.destination, f.outsidePort]),
    [
      ["tcp", "192.168.1.2", "8.8.8.8:443", 5140],
      ["udp", "192.168.1.2", "1.1.1.1:53", 9233],
      ["icmp", "192.168.1.3", "8.8.8.8", 62490],
      ["tcp", "192.168.1.2", "8.8.8.8:443", 40001],
    ],
  );
});

test("usage is counted per block, per protocol, and flows outside the set are flagged", () => {
  const plan = planFor(USER_PREFIX);
  const usage = portUsage(parseConntrack(CONNTRACK, "133.209.13.2"), plan.portSets, plan.portCount);
  assert.equal(usage.total, 4);
  assert.equal(usage.perBlock[0]?.used, 1);
  assert.equal(usage.perBlock[1]?.used, 1);
  assert.equal(usage.perBlock[14]?.used, 1);
  assert.equal(usage.outsideSet, 1);
  assert.deepEqual(usage.perProtocol, { tcp: 2, udp: 1, icmp: 1 });
});

test("under the fold allocator conntrack's allocated ports are counted as the wire ports they become", () => {
  const plan = planFor(USER_PREFIX);
  assert.equal(plan.allocator, "fold");
  // 20 → 5140 (block 0), 33 → 9233 (block 1), id 250 → 62490 (block 14); 40001 is outside either way
  const folded = CONNTRACK.replace("dport=5140", "dport=20")
    .replace("dport=9233", "dport=33")
    .replace("id=62490", "id=250");
  const flows = parseConntrack(folded, "133.209.13.2");
  const usage = portUsage(flows, plan.portSets, plan.portCount, plan.allocator);
  assert.deepEqual(
    usage.perBlock.map((b) => b.used),
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  );
  assert.equal(usage.outsideSet, 1);
  // read as round robin, the same flows would all look outside the set
  assert.equal(portUsage(flows, plan.portSets, plan.portCount, "round-robin").outsideSet, 4);
  assert.deepEqual(
    flows.map((f) => f.closed === true),
    [false, false, false, true],
  );
});
