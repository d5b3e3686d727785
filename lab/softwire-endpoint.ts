/**
 * What the lab's provider-side softwire endpoints (the AFTR, the IPIP BR) share: a table of their
 * own, replaced whole on every load, whose `outer` chain runs before anything else (priority -300)
 * and takes ip4ip6 to the endpoint only from the sources it serves. Others are counted and dropped,
 * as a real AFTR or BR drops a line it does not serve; what gets through is counted as decapsulated.
 */
export interface SoftwireEndpoint {
  /** The `inet` table's name. */
  readonly table: string;
  /** The endpoint's IPv6 address: the outer destination of its softwires. */
  readonly address: string;
  /** The counter of dropped packets from sources it does not serve, and of those it takes. */
  readonly unknownCounter: string;
  readonly decapCounter: string;
  /** The endpoint's other counters. */
  readonly counters: readonly string[];
  /** The set of IPv6 sources it serves (interval: prefixes, else addresses). */
  readonly served: {
    readonly name: string;
    readonly interval: boolean;
    readonly elements: readonly string[];
  };
  /** The endpoint's own chains, each a list of lines, inside the table after `outer`. */
  readonly chains: readonly string[];
}

export function softwireEndpointRuleset(endpoint: SoftwireEndpoint): string {
  const { table, address, served } = endpoint;
  const counters = [endpoint.unknownCounter, endpoint.decapCounter, ...endpoint.counters];
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    ...counters.map((name) => `  counter ${name} {}`),
    `  set ${served.name} {`,
    "    type ipv6_addr",
    ...(served.interval ? ["    flags interval"] : []),
    ...(served.elements.length > 0 ? [`    elements = { ${served.elements.join(", ")} }`] : []),
    "  }",
    "  chain outer {",
    "    type filter hook prerouting priority -300; policy accept;",
    `    meta l4proto 4 ip6 daddr ${address} ip6 saddr != @${served.name} counter name ${endpoint.unknownCounter} drop`,
    `    meta l4proto 4 ip6 daddr ${address} counter name ${endpoint.decapCounter}`,
    "  }",
    ...endpoint.chains,
    "}",
    "",
  ].join("\n");
}
