/** The dynamic set of the per-host limit: its elements (hosts with their counts) come and go. */
export const NFT_PER_HOST_SET = "per-host";

/**
 * mapectl's table as `nft list table ip mapectl` prints it and as renderNftables writes it, brought
 * to one form, so a table changed by hand shows as a difference and nothing else does. nft prints
 * what it loaded in its own way: counters with their values, anonymous sets in its own order,
 * "snat to" for "snat ip to" in an ip table, an address range that is one prefix as that prefix,
 * its own line breaks and blank lines, a flowtable's devices without quotes, and a layer 4 protocol
 * by the name /etc/protocols gives it, or by its number where that file is missing (a Debian
 * system without netbase, as a minimal router is).
 */
export function canonicalNftTable(text: string): string {
  const lines = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    // the rendered script's create-and-delete preamble that makes its load one transaction
    .filter(
      (line) => !/^\s*(table (ip|netdev) mapectl \{\}|delete table (ip|netdev) mapectl)\s*$/.test(line),
    );
  return lines
    .join(" ")
    .replace(/counter packets \d+ bytes \d+/g, "counter")
    .replace(/devices = \{([^}]*)\}/g, unquotedDevices)
    .replace(/\b(snat|dnat) ip to\b/g, "$1 to")
    .replace(/\b(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)\b/g, asPrefix)
    .replace(/\s+/g, " ")
    .trim()
    .replace(PROTOCOL_MATCH, protocolsAsNumbers)
    .replace(new RegExp(`(set ${NFT_PER_HOST_SET} \\{[^{}]*?) elements = \\{[^{}]*\\}`), "$1")
    .replace(
      /\{ ([^{};]*?) \}/g,
      (_whole, inner: string) =>
        `{ ${inner
          .split(/\s*,\s*/)
          .sort()
          .join(", ")} }`,
    );
}

/**
 * The protocols as netbase's /etc/protocols names them (and nft's own aliases), by number: nft
 * prints a protocol by the name getprotobynumber() finds, and by its number when there is none.
 */
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipencap: 4,
  ipip: 4,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  gre: 47,
  esp: 50,
  ah: 51,
  "ipv6-icmp": 58,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

/** Where nft prints a protocol: `meta l4proto`, `ip protocol`, `ip6 nexthdr`, a ct timeout's `protocol`. */
const PROTOCOL_MATCH = /\b(l4proto|protocol|nexthdr) ((?:!= )?)(\{ [^{}]*? \}|[\w-]+)/g;

function protocolsAsNumbers(_whole: string, key: string, operator: string, value: string): string {
  const number = (word: string) => String(PROTOCOL_NUMBERS[word] ?? word);
  const set = /^\{ (.*) \}$/.exec(value);
  const text =
    set === null
      ? number(value)
      : `{ ${(set[1] ?? "")
          .split(/\s*,\s*/)
          .map(number)
          .join(", ")} }`;
  return `${key} ${operator}${text}`;
}

/** nft prints a flowtable's device names without the quotes the rendered table has. */
function unquotedDevices(_whole: string, inner: string): string {
  return `devices = {${inner.replace(/"/g, "")}}`;
}

function ipv4Number(text: string): number {
  return text.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** nft prints an address range that is exactly one prefix as that prefix. */
function asPrefix(range: string, first: string, last: string): string {
  const lo = ipv4Number(first);
  const size = ipv4Number(last) - lo + 1;
  const length = 32 - Math.log2(size);
  return Number.isInteger(length) && length < 32 && lo % size === 0 ? `${first}/${length}` : range;
}

/** True when the running table is the rendered one (see canonicalNftTable). */
export function sameNftTable(listed: string, rendered: string): boolean {
  return canonicalNftTable(listed) === canonicalNftTable(rendered);
}
