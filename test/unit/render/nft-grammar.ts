import assert from "node:assert/strict";
import type { MapePlan } from "../../../src/plan/plan.ts";
import { statementLines } from "./output-parsers.ts";

const T = String.raw`"[A-Za-z0-9_.@-]+"`;
const A = String.raw`[0-9]{1,3}(\.[0-9]{1,3}){3}`;
const E = String.raw`icmp type \{ destination-unreachable, time-exceeded, parameter-problem \}`;
/** Every statement line renderNftables may write; anything else is a statement nobody asked for. */
const NFT_GRAMMAR = [
  String.raw`table (ip|netdev) mapectl \{\}`,
  String.raw`delete table (ip|netdev) mapectl`,
  String.raw`table (ip|netdev) mapectl \{`,
  String.raw`ct timeout tcp-time-wait \{`,
  String.raw`protocol tcp`,
  String.raw`l3proto ip`,
  String.raw`policy = \{ time_wait : [0-9]+ \}`,
  String.raw`\}`,
  String.raw`chain (srcnat|dstnat|forward|input|fold|unfold|unfold-tidy) \{`,
  String.raw`map (fold-port|unfold-port|fold-id|unfold-id|unfold-sum|fold-sum) \{`,
  String.raw`typeof (tcp sport : tcp sport|tcp dport : tcp dport|icmp id : icmp id)`,
  String.raw`elements = \{`,
  String.raw`([0-9]+ : [0-9]+)(, [0-9]+ : [0-9]+)*,?`,
  String.raw`set per-host \{`,
  String.raw`typeof ip saddr`,
  String.raw`size 65535`,
  String.raw`flags dynamic`,
  String.raw`type filter hook postrouting priority srcnat \+ 10; policy accept;`,
  String.raw`type filter hook prerouting priority (raw|mangle); policy accept;`,
  // the fold on the tunnel device (netdev table, with the fast path) has no interface matches
  String.raw`type filter hook egress device ${T} priority filter; policy accept;`,
  String.raw`type filter hook ingress device ${T} priority filter - 10; policy accept;`,
  String.raw`(oifname ${T} )?(tcp|udp) sport set (tcp|udp) sport map @fold-port accept`,
  String.raw`(oifname ${T} )?icmp type echo-request icmp id set icmp id map @fold-id accept`,
  String.raw`(iifname ${T} )?(tcp|udp) dport set (tcp|udp) dport map @unfold-port accept`,
  String.raw`(iifname ${T} )?icmp type echo-reply icmp id set icmp id map @unfold-id accept`,
  String.raw`(oifname ${T} )?ip saddr ${A} ${E} @th,32,16 0x0 @th,64,8 0x45 @th,192,32 0x[0-9a-f]+ @th,136,8 \{ 0x6, 0x11 \} @th,32,16 set @th,240,16 map @fold-sum @th,240,16 set @th,240,16 map @fold-id`,
  String.raw`(iifname ${T} )?${E} @th,32,16 0x0 @th,64,8 0x45 @th,160,32 0x[0-9a-f]+ @th,136,8 (\{ 0x6, 0x11 \}|0x1 @th,224,8 0x8) @th,32,16 set @th,(224|256),16 map @unfold-sum @th,(224|256),16 set @th,(224|256),16 map @unfold-id`,
  String.raw`iifname ${T} ${E} @th,32,16 != 0x0 @th,160,32 0x[0-9a-f]+ @th,224,16 0x[0-9a-f]+-0x[0-9a-f]+ @th,32,16 set 0x0`,
  String.raw`oifname ${T} meta l4proto \{ tcp, udp, icmp \} snat ip to ${A}:[0-9]+-[0-9]+`,
  String.raw`oifname ${T} ct state new add @per-host \{ ip saddr ct count over [0-9]+ \} counter reject with icmp admin-prohibited comment "a LAN host at its port limit"`,
  String.raw`type nat hook postrouting priority srcnat - 1; policy accept;`,
  String.raw`type nat hook prerouting priority dstnat - 1; policy accept;`,
  String.raw`type filter hook (forward|input) priority filter; policy accept;`,
  String.raw`oifname ${T} meta l4proto tcp ct timeout set "tcp-time-wait"`,
  String.raw`oifname ${T} snat ip to ${A}(-${A})?`,
  String.raw`oifname ${T} meta l4proto \{ tcp, udp, icmp \} snat ip to numgen inc mod [0-9]+ map \{`,
  String.raw`([0-9]+ : ${A} \. [0-9]+-[0-9]+)(, [0-9]+ : ${A} \. [0-9]+-[0-9]+)*,?`,
  String.raw`iifname ${T} (tcp|udp) dport [0-9]+ dnat ip to ${A}:[0-9]+`,
  String.raw`oifname ${T} tcp flags syn tcp option maxseg size set rt mtu`,
  String.raw`iifname ${T} tcp flags syn tcp option maxseg size > [0-9]+ tcp option maxseg size set [0-9]+`,
  String.raw`iifname ${T} ct (state established,related|status dnat) accept`,
  String.raw`iifname ${T} counter drop comment "unsolicited inbound IPv4"`,
].map((re) => new RegExp(`^${re}$`));

/** Every statement of an nft table is one the plan asked for, with one dnat per forward. */
export function checkNft(text: string, plan: MapePlan, what: string): void {
  const lines = statementLines(text).map((l) => l.trim());
  for (const line of lines) {
    assert.ok(
      NFT_GRAMMAR.some((re) => re.test(line)),
      `${what}: a statement the plan did not ask for: ${line}`,
    );
  }
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  assert.equal(count(/ dnat ip to /), plan.forwards.length, `${what}: one dnat per forward`);
  assert.equal(count(/ct timeout set/), plan.tcpTimeWait === null || plan.tcpTimeWait === undefined ? 0 : 1);
  const folds = plan.allocator === "fold" && plan.ipv4PrefixLength === 32 && plan.portSets.length > 1;
  assert.equal(count(/^chain /), folds ? 7 : 4, `${what}: four chains, three more for the fold`);
  assert.equal(count(/ct count over/), plan.maxPortsPerHost == null ? 0 : 1, `${what}: the per-host limit`);
  assert.equal(count(/^table ip mapectl \{$/), 1, `${what}: one table`);
}
