import { checksumCompensation, foldPairs, type PortFold } from "../mape/port-fold.ts";

/** Names of the fold's maps and chains in mapectl's table (doctor and the tests read them). */
export const FOLD = {
  port: "fold-port",
  unport: "unfold-port",
  id: "fold-id",
  unid: "unfold-id",
  sum: "unfold-sum",
  out: "fold",
  in: "unfold",
  tidy: "unfold-tidy",
} as const;

/** The ICMP errors whose quoted packet the unfold puts back (those conntrack relates to a flow). */
const ICMP_ERRORS = "icmp type { destination-unreachable, time-exceeded, parameter-problem }";

function elements(pairs: readonly (readonly [number, number])[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < pairs.length; i += 8) {
    const row = pairs.slice(i, i + 8).map(([from, to]) => `${from} : ${to}`);
    lines.push(`\t\t\t${row.join(", ")}${i + 8 < pairs.length ? "," : ""}`);
  }
  return lines;
}

function map(name: string, key: string, pairs: readonly (readonly [number, number])[]): string[] {
  return [
    `\tmap ${name} {`,
    `\t\ttypeof ${key} : ${key}`,
    "\t\telements = {",
    ...elements(pairs),
    "\t\t}",
    "\t}",
  ];
}

/** Numbers in raw payload matches are written as nft lists them, so status sees no difference. */
const hex = (n: number): string => `0x${n.toString(16)}`;

/** The address as the 32-bit number a raw payload match takes (nft has no address type there). */
function hexAddress(ipv4: string): string {
  return hex(ipv4.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0));
}

/**
 * The quoted packet of an ICMP error from outside names our flow by its wire port, at th bit
 * offset `at` (inner IPv4 header of 20 bytes after the 8-byte ICMP header: source port at 224,
 * ICMP echo id at 256). nft writes raw payload without touching the checksum, and conntrack drops
 * an ICMP error whose checksum is wrong, so the same rule writes the port's one's complement
 * difference into the ICMP header's unused word (th bit 32, zero in these errors): the sum stays
 * right. The tidy chain zeroes that word again once conntrack has related the error to its flow.
 */
function quotedUnfold(tunnel: string, v4hex: string): string[] {
  const quoted = `iifname ${tunnel} ${ICMP_ERRORS} @th,32,16 0x0 @th,64,8 0x45 @th,160,32 ${v4hex}`;
  return [
    `${quoted} @th,136,8 { 0x6, 0x11 } @th,32,16 set @th,224,16 map @${FOLD.sum} @th,224,16 set @th,224,16 map @${FOLD.unid}`,
    `${quoted} @th,136,8 0x1 @th,224,8 0x8 @th,32,16 set @th,256,16 map @${FOLD.sum} @th,256,16 set @th,256,16 map @${FOLD.unid}`,
  ];
}

/**
 * The maps and chains of the fold allocator: the snat rule allocates from fold.first–fold.last,
 * the fold chain (postrouting, after NAT) writes the wire port, the unfold chain (prerouting at raw
 * priority, before conntrack) writes the allocated port back into replies, echo replies and the
 * packets ICMP errors quote. Ports outside the maps are not in the lookup and pass unchanged.
 */
export function foldTable(fold: PortFold, tunnel: string, ipv4: string): string[] {
  const pairs = foldPairs(fold);
  const back = pairs.map(([allocated, wire]) => [wire, allocated] as const);
  const sums = pairs.map(([allocated, wire]) => [wire, checksumCompensation(wire, allocated)] as const);
  const v4hex = hexAddress(ipv4);
  return [
    ...map(FOLD.port, "tcp sport", pairs),
    ...map(FOLD.unport, "tcp dport", back),
    ...map(FOLD.id, "icmp id", pairs),
    ...map(FOLD.unid, "icmp id", back),
    ...map(FOLD.sum, "icmp id", sums),
    `\tchain ${FOLD.out} {`,
    "\t\ttype filter hook postrouting priority srcnat + 10; policy accept;",
    `\t\toifname ${tunnel} ip saddr ${ipv4} tcp sport set tcp sport map @${FOLD.port}`,
    `\t\toifname ${tunnel} ip saddr ${ipv4} udp sport set udp sport map @${FOLD.port}`,
    `\t\toifname ${tunnel} ip saddr ${ipv4} icmp type echo-request icmp id set icmp id map @${FOLD.id}`,
    "\t}",
    `\tchain ${FOLD.in} {`,
    "\t\ttype filter hook prerouting priority raw; policy accept;",
    `\t\tiifname ${tunnel} ip daddr ${ipv4} tcp dport set tcp dport map @${FOLD.unport}`,
    `\t\tiifname ${tunnel} ip daddr ${ipv4} udp dport set udp dport map @${FOLD.unport}`,
    `\t\tiifname ${tunnel} ip daddr ${ipv4} icmp type echo-reply icmp id set icmp id map @${FOLD.unid}`,
    ...quotedUnfold(tunnel, v4hex).map((l) => `\t\t${l}`),
    "\t}",
    `\tchain ${FOLD.tidy} {`,
    "\t\ttype filter hook prerouting priority mangle; policy accept;",
    `\t\tiifname ${tunnel} ${ICMP_ERRORS} @th,32,16 != 0x0 @th,160,32 ${v4hex} @th,224,16 ${hex(fold.first)}-${hex(fold.last)} @th,32,16 set 0x0`,
    "\t}",
  ];
}
