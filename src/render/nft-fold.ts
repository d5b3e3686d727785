import { checksumCompensation, foldPairs, type PortFold } from "../mape/port-fold.ts";

/** Names of the fold's maps and chains in mapectl's table (doctor and the tests read them). */
export const FOLD = {
  port: "fold-port",
  unport: "unfold-port",
  id: "fold-id",
  unid: "unfold-id",
  sum: "unfold-sum",
  outSum: "fold-sum",
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
function quotedUnfold(inward: string, v4hex: string): string[] {
  const quoted = `${inward}${ICMP_ERRORS} @th,32,16 0x0 @th,64,8 0x45 @th,160,32 ${v4hex}`;
  return [
    `${quoted} @th,136,8 { 0x6, 0x11 } @th,32,16 set @th,224,16 map @${FOLD.sum} @th,224,16 set @th,224,16 map @${FOLD.unid}`,
    `${quoted} @th,136,8 0x1 @th,224,8 0x8 @th,32,16 set @th,256,16 map @${FOLD.sum} @th,256,16 set @th,256,16 map @${FOLD.unid}`,
  ];
}

/** The fold's maps: allocated → wire port and echo id, back, and the quoted-port compensation. */
function foldMaps(fold: PortFold): string[] {
  const pairs = foldPairs(fold);
  const back = pairs.map(([allocated, wire]) => [wire, allocated] as const);
  const sums = pairs.map(([allocated, wire]) => [wire, checksumCompensation(wire, allocated)] as const);
  const outSums = pairs.map(
    ([allocated, wire]) => [allocated, checksumCompensation(allocated, wire)] as const,
  );
  return [
    ...map(FOLD.port, "tcp sport", pairs),
    ...map(FOLD.unport, "tcp dport", back),
    ...map(FOLD.id, "icmp id", pairs),
    ...map(FOLD.unid, "icmp id", back),
    ...map(FOLD.sum, "icmp id", sums),
    ...map(FOLD.outSum, "icmp id", outSums),
  ];
}

/**
 * An ICMP error leaving (the router's, or a LAN host's that conntrack has translated) quotes an
 * arriving packet, whose destination port (th bit 240) is the allocated one: the far end finds its
 * socket only by the wire port. The same compensation as quotedUnfold, the other way; the word
 * stays set on the wire (receivers ignore it, except RFC 4884 readers, which check its length).
 */
function quotedFold(out: string, v4: string, v4hex: string): string {
  return `${out}ip saddr ${v4} ${ICMP_ERRORS} @th,32,16 0x0 @th,64,8 0x45 @th,192,32 ${v4hex} @th,136,8 { 0x6, 0x11 } @th,32,16 set @th,240,16 map @${FOLD.outSum} @th,240,16 set @th,240,16 map @${FOLD.id}`;
}

/**
 * The fold's rules, each after `out` (leaving) or `in` (arriving): the same on either hook, cut to
 * what each packet needs, since every packet the tunnel sends or receives passes them. Every IPv4
 * packet through the tunnel is from (to) the line's address (one /32: the snat rules take every
 * flow, and the BR sends nothing else), so ports and echo ids need no address match; UDP leads
 * outward (small packets, where a rule costs most), TCP inward (the replies of bulk uploads); a
 * rewrite ends the chain (accept; later chains still run), so a folded packet skips the ICMP rules.
 * A port the maps do not hold fails the lookup and goes on unchanged.
 */
function foldRules(v4: string, v4hex: string, out: string, inward: string): { out: string[]; in: string[] } {
  return {
    out: [
      `${out}udp sport set udp sport map @${FOLD.port} accept`,
      `${out}tcp sport set tcp sport map @${FOLD.port} accept`,
      `${out}icmp type echo-request icmp id set icmp id map @${FOLD.id} accept`,
      quotedFold(out, v4, v4hex),
    ],
    in: [
      `${inward}tcp dport set tcp dport map @${FOLD.unport} accept`,
      `${inward}udp dport set udp dport map @${FOLD.unport} accept`,
      `${inward}icmp type echo-reply icmp id set icmp id map @${FOLD.unid} accept`,
      ...quotedUnfold(inward, v4hex),
    ],
  };
}

/** Zeroes the compensation word again once conntrack (at priority -200) has related the error. */
function tidyChain(tunnel: string, fold: PortFold, v4hex: string): string[] {
  return [
    `\tchain ${FOLD.tidy} {`,
    "\t\ttype filter hook prerouting priority mangle; policy accept;",
    `\t\tiifname ${tunnel} ${ICMP_ERRORS} @th,32,16 != 0x0 @th,160,32 ${v4hex} @th,224,16 ${hex(fold.first)}-${hex(fold.last)} @th,32,16 set 0x0`,
    "\t}",
  ];
}

const chain = (name: string, hook: string, rules: readonly string[]): string[] => [
  `\tchain ${name} {`,
  `\t\ttype filter hook ${hook}; policy accept;`,
  ...rules.map((r) => `\t\t${r}`),
  "\t}",
];

/**
 * The maps and chains of the fold allocator in mapectl's ip table: the snat rule allocates from
 * fold.first–fold.last, the fold chain (postrouting, after NAT) writes the wire port, the unfold
 * chain (prerouting at raw priority, before conntrack) writes the allocated port back into replies,
 * echo replies and the packets ICMP errors quote. Ports outside the maps are not in the lookup and
 * pass unchanged. This layout needs no device, so it is the one of the files loaded at boot, and of
 * a kernel without netdev egress hooks; it cannot go with the fast path (see foldOnTunnel).
 */
export function foldTable(fold: PortFold, tunnel: string, ipv4: string): string[] {
  const v4hex = hexAddress(ipv4);
  const rules = foldRules(ipv4, v4hex, `oifname ${tunnel} `, `iifname ${tunnel} `);
  return [
    ...foldMaps(fold),
    ...chain(FOLD.out, "postrouting priority srcnat + 10", rules.out),
    ...chain(FOLD.in, "prerouting priority raw", rules.in),
    ...tidyChain(tunnel, fold, v4hex),
  ];
}

/** The netdev table that holds the fold on the tunnel device (see foldOnTunnel). */
export const NFT_NETDEV_TABLE = "mapectl";

/**
 * The lines that take a fold left by an earlier MAP-E plan away in the same transaction as a load.
 * Every method's table ends with them: nft keeps a netdev table after its tunnel device is deleted,
 * so a line that moved from MAP-E to DS-Lite or IPIP would otherwise list it beside the new table,
 * compare unequal with the plan, and reload the table at every converge.
 */
export function dropLeftoverFold(): string[] {
  return [`table netdev ${NFT_NETDEV_TABLE} {}`, `delete table netdev ${NFT_NETDEV_TABLE}`];
}

/**
 * The fold on the tunnel device itself, for the fast path: the flowtable hands an established
 * flow's packets from the LAN's ingress to the tunnel's transmit (NAT applied from conntrack), past
 * postrouting, so a fold there would miss them and they would leave with an allocated port, which
 * the BR drops. The egress hook of the tunnel device sees every IPv4 packet the tunnel sends,
 * fast-pathed, forwarded or the router's own, after NAT; the ingress hook of the tunnel device
 * sees every decapsulated packet before the flowtable (priority filter) and before conntrack, so
 * the flowtable and conntrack find the allocated port. Only the ICMP errors' compensation word is
 * zeroed in the ip table (tidy), after conntrack. A netdev chain needs its device to exist when it
 * is loaded, and goes when the device goes: `up` loads it after making the tunnel, and reloads the
 * table when the tunnel was made anew (the listing then lacks the chains).
 */
export function foldOnTunnel(
  fold: PortFold,
  tunnel: string,
  ipv4: string,
): { ip: string[]; netdev: string[] } {
  const v4hex = hexAddress(ipv4);
  const rules = foldRules(ipv4, v4hex, "", "");
  return {
    ip: tidyChain(tunnel, fold, v4hex),
    netdev: [
      `table netdev ${NFT_NETDEV_TABLE} {`,
      ...foldMaps(fold),
      ...chain(FOLD.out, `egress device ${tunnel} priority filter`, rules.out),
      ...chain(FOLD.in, `ingress device ${tunnel} priority filter - 10`, rules.in),
      "}",
    ],
  };
}
