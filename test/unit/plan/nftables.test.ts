import assert from "node:assert/strict";
import { test } from "node:test";
import { renderNftables } from "../../../src/render/nftables.ts";
import { assertGolden } from "../../helpers/golden.ts";
import { OCN_PREFIX, USER_PREFIX, planFor } from "../../helpers/plans.ts";

const FORWARD = {
  forwards: [{ protocol: "tcp" as const, port: 5140, toAddress: "192.168.1.10", toPort: 22 }],
};

test("fold: the kernel allocates from 16-255, the fold maps each port to the set's and back", () => {
  const plan = planFor(USER_PREFIX, FORWARD);
  assert.equal(plan.allocator, "fold");
  const nft = renderNftables(plan);
  assert.match(nft, /oifname "mape" meta l4proto \{ tcp, udp, icmp \} snat ip to 133\.209\.13\.2:16-255\n/);
  assert.doesNotMatch(nft, /numgen/);
  // the first and last port of the set, each way, for ports and echo ids
  for (const name of ["fold-port", "fold-id"]) {
    const map = nft.slice(nft.indexOf(`map ${name} {`), nft.indexOf("}", nft.indexOf(`map ${name} {`) + 20));
    assert.match(map, /\b16 : 5136, 17 : 5137\b/);
    assert.match(map, /\b31 : 5151,\s+32 : 9232\b/);
    assert.match(map, /\b255 : 62495\n/);
    assert.equal(map.match(/\d+ : \d+/g)?.length, 240);
  }
  assert.match(nft, /\b5136 : 16, 5137 : 17\b/);
  // fold after NAT (srcnat = 100), unfold before conntrack (raw = -300)
  assert.match(nft, /chain fold \{\n\t\ttype filter hook postrouting priority srcnat \+ 10;/);
  assert.match(nft, /chain unfold \{\n\t\ttype filter hook prerouting priority raw;/);
  assert.match(nft, /icmp type echo-request icmp id set icmp id map @fold-id/);
  assert.match(nft, /icmp type echo-reply icmp id set icmp id map @unfold-id/);
  // a forward's outside port reaches dstnat already unfolded: 5140 is allocated port 20
  assert.match(nft, /iifname "mape" tcp dport 20 dnat ip to 192\.168\.1\.10:22/);
  assertGolden("biglobe-user-fold.nft", nft);
});

test("an ICMP error's compensation word keeps its checksum: port 5140 → 20 is offset by 5120", () => {
  const nft = renderNftables(planFor(USER_PREFIX));
  const sums = nft.slice(nft.indexOf("map unfold-sum {"), nft.indexOf("chain fold"));
  assert.match(sums, /\b5140 : 5120\b/);
  assert.match(sums, /\b62495 : 62240\b/);
});

test("round-robin (the fallback) and a shared prefix keep the old NAT; a one-block set needs no fold", () => {
  const rr = planFor(USER_PREFIX, { allocator: "round-robin" });
  assert.equal(rr.allocator, "round-robin");
  assert.doesNotMatch(renderNftables(rr), /fold|@th/);
});

test("the per-host limit: a ct count per LAN source address on new flows into the tunnel, refused at once", () => {
  assert.doesNotMatch(renderNftables(planFor(USER_PREFIX)), /ct count/);
  const nft = renderNftables(planFor(USER_PREFIX, { maxPortsPerHost: 100 }));
  assert.match(nft, /set per-host \{\n\t\ttypeof ip saddr\n\t\tsize 65535\n\t\tflags dynamic\n\t\}/);
  const forward = nft.slice(nft.indexOf("chain forward"), nft.indexOf("chain input"));
  assert.match(
    forward,
    /oifname "mape" ct state new add @per-host \{ ip saddr ct count over 100 \} counter reject with icmp admin-prohibited/,
  );
});

test("round robin spreads tcp, udp and icmp over all 15 blocks with address.port-range map data", () => {
  const nft = renderNftables(planFor(USER_PREFIX, { ...FORWARD, allocator: "round-robin" }));
  assert.match(nft, /meta l4proto \{ tcp, udp, icmp \} snat ip to numgen inc mod 15 map \{/);
  for (const block of ["5136-5151", "9232-9247", "33808-33823", "62480-62495"]) {
    assert.match(nft, new RegExp(`133\\.209\\.13\\.2 \\. ${block}`));
  }
  assert.equal(nft.match(/133\.209\.13\.2 \. \d+-\d+/g)?.length, 15);
  // the construct nft 1.0.6 silently turns into one port per block must never appear
  assert.doesNotMatch(nft, /snat ip to 133\.209\.13\.2 : numgen/);
  // no source-address restriction: the router's own traffic is translated too
  assert.doesNotMatch(nft, /saddr/);
  assert.match(nft, /iifname "mape" tcp dport 5140 dnat ip to 192\.168\.1\.10:22/);
  assert.match(nft, /iifname "mape" ct state established,related accept/);
  assert.match(nft, /oifname "mape" tcp flags syn tcp option maxseg size set rt mtu/);
  assert.match(nft, /size > 1420 tcp option maxseg size set 1420/);
  assertGolden("biglobe-user.nft", nft);
});

test("OCN, round robin: 63 blocks of 16 = 1008 ports in one rule", () => {
  const nft = renderNftables(planFor(OCN_PREFIX, { allocator: "round-robin" }));
  assert.match(nft, /numgen inc mod 63 map/);
  assert.equal(nft.match(/ \. \d+-\d+/g)?.length, 63);
  assertGolden("ocn.nft", nft);
});

test("the table is replaced atomically: create, delete, define in one file", () => {
  const nft = renderNftables(planFor(USER_PREFIX));
  const lines = nft.split("\n").filter((l) => !l.startsWith("#"));
  assert.deepEqual(lines.slice(0, 3), [
    "table ip mapectl {}",
    "delete table ip mapectl",
    "table ip mapectl {",
  ]);
  assert.doesNotMatch(nft, /flush ruleset|table inet|table ip6/);
});

test("a TIME_WAIT of the user's applies to the tunnel's TCP flows only, set before NAT; none by default", () => {
  assert.doesNotMatch(renderNftables(planFor(USER_PREFIX)), /ct timeout/);
  const nft = renderNftables(planFor(USER_PREFIX, { tcpTimeWait: 10 }));
  assert.match(
    nft,
    /ct timeout tcp-time-wait \{\n\t\tprotocol tcp\n\t\tl3proto ip\n\t\tpolicy = \{ time_wait : 10 \}/,
  );
  const srcnat = nft.slice(nft.indexOf("chain srcnat"), nft.indexOf("chain dstnat"));
  const set = srcnat.indexOf('oifname "mape" meta l4proto tcp ct timeout set "tcp-time-wait"');
  assert.ok(set > 0 && set < srcnat.indexOf("snat ip to"), srcnat);
});

test("the fast path: a flowtable on the LAN interfaces and the tunnel, fed only by flows leaving through the tunnel", () => {
  assert.doesNotMatch(renderNftables(planFor(USER_PREFIX)), /flowtable|flow add/);
  const rr = { allocator: "round-robin" } as const;
  const nft = renderNftables(planFor(USER_PREFIX, { ...rr, fastPath: true, lan: ["lan0", "lan1"] }));
  assert.match(
    nft,
    /\tflowtable fastpath \{\n\t\thook ingress priority filter\n\t\tdevices = \{ "lan0", "lan1", "mape" \}\n\t\}/,
  );
  const forward = nft.slice(nft.indexOf("chain forward"), nft.indexOf("chain input"));
  const rules = forward.split("\n").filter((l) => l.includes("flow add"));
  assert.deepEqual(rules, ['\t\toifname "mape" meta l4proto { tcp, udp } flow add @fastpath']);
  // after the inbound checks, which decide on a flow's first packets, before any is offloaded
  assert.ok(forward.indexOf("flow add") > forward.indexOf("unsolicited inbound IPv4"), forward);
  // no LAN interface: nothing to speed up, and a flowtable on the tunnel alone would be no use
  assert.doesNotMatch(renderNftables(planFor(USER_PREFIX, { ...rr, fastPath: true, lan: [] })), /flowtable/);
  // under the fold without netdev egress hooks a fast-pathed flow would skip the fold (postrouting)
  // and leave with an allocated port: no fast path then
  const folded = planFor(USER_PREFIX, { fastPath: true, lan: ["lan0"] });
  assert.equal(folded.allocator, "fold");
  assert.equal(folded.fastPath, false);
  assert.doesNotMatch(renderNftables(folded), /flowtable|flow add|table netdev mapectl \{\n/);
});

test("fold with the fast path: the fold on the tunnel's egress, the unfold on its ingress before the flowtable", () => {
  const plan = planFor(USER_PREFIX, { fastPath: true, netdevEgress: true, lan: ["lan0"] });
  assert.equal(plan.allocator, "fold");
  assert.equal(plan.fastPath, true);
  const nft = renderNftables(plan);
  const [ip = "", netdev = ""] = nft.split("table netdev mapectl {}\ndelete table netdev mapectl\n");
  assert.match(ip, /flowtable fastpath/);
  assert.match(ip, /snat ip to 133\.209\.13\.2:16-255/);
  // nothing of the fold in the ip table but the tidy chain (after conntrack, which is IP's)
  assert.doesNotMatch(
    ip,
    /map fold-port|chain fold \{|chain unfold \{|hook postrouting priority srcnat \+ 10/,
  );
  assert.match(ip, /chain unfold-tidy \{\n\t\ttype filter hook prerouting priority mangle;/);
  assert.match(netdev, /^table netdev mapectl \{\n\tmap fold-port \{/);
  assert.match(
    netdev,
    /chain fold \{\n\t\ttype filter hook egress device "mape" priority filter; policy accept;\n\t\tudp sport set udp sport map @fold-port accept\n\t\ttcp sport set tcp sport map @fold-port accept\n/,
  );
  // before the flowtable (ingress, priority filter) and before conntrack (IP prerouting)
  assert.match(
    netdev,
    /chain unfold \{\n\t\ttype filter hook ingress device "mape" priority filter - 10; policy accept;\n\t\ttcp dport set tcp dport map @unfold-port accept\n\t\tudp dport set udp dport map @unfold-port accept\n/,
  );
  assert.doesNotMatch(netdev, /[io]ifname/);
  // round robin needs no fold: the netdev table is only deleted (one left by a fold goes)
  const rr = renderNftables(
    planFor(USER_PREFIX, { fastPath: true, netdevEgress: true, allocator: "round-robin", lan: ["lan0"] }),
  );
  assert.match(rr, /table netdev mapectl \{\}\ndelete table netdev mapectl\n$/);
});
