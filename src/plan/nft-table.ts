/** The dynamic set of the per-host limit: its elements (hosts with their counts) come and go. */
export const NFT_PER_HOST_SET = "per-host";

/**
 * mapectl's table as `nft list table ip mapectl` prints it and as renderNftables writes it, brought
 * to one form, so a table changed by hand shows as a difference and nothing else does. nft prints
 * what it loaded in its own way: counters with their values, anonymous sets in its own order,
 * "snat to" for "snat ip to" in an ip table, an address range that is one prefix as that prefix,
 * its own line breaks and blank lines, a flowtable's devices without quotes.
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
