import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { detectGateway, detectPrefix } from "../../../src/plan/desired.ts";
import { parseAddresses, parseRoutes, type HostState } from "../../../src/plan/observed.ts";

// Shapes as `ip -j addr` / `ip -j -6 route` print them (iproute2 6.1).
const addrJson = [
  {
    ifname: "wan0",
    addr_info: [
      {
        family: "inet6",
        local: "2404:7a82:1:2:5054:ff:fe12:3456",
        prefixlen: 64,
        scope: "global",
        dynamic: true,
        mngtmpaddr: true,
      },
      { family: "inet6", local: "fe80::5054:ff:fe12:3456", prefixlen: 64, scope: "link" },
    ],
  },
  {
    ifname: "lan0",
    addr_info: [{ family: "inet6", local: "2404:7a82:4d02:4101::1", prefixlen: 64, scope: "global" }],
  },
];
const routeJson = [
  {
    dst: "default",
    gateway: "fe80::a611:bbff:fe7d:ee11",
    dev: "wan0",
    protocol: "ra",
    metric: 1024,
    flags: [],
  },
  {
    dst: "2404:7a82:4d02:4100::/56",
    dev: "lo",
    protocol: "dhcp",
    metric: 1024,
    type: "unreachable",
    flags: [],
  },
];

function host(addresses: unknown, routes: unknown): HostState {
  return {
    links: [],
    addresses: parseAddresses(addresses),
    routes: parseRoutes(routes, 6),
    ipv4Forwarding: true,
    nftTable: null,
  };
}

test("the delegated prefix comes from the PD client's unreachable route first", () => {
  const d = detectPrefix(host(addrJson, routeJson), "wan0", ["lan0"]);
  assert.equal(d === null ? null : formatIpv6Prefix(d.prefix), "2404:7a82:4d02:4100::/56");
  assert.equal(d?.widen, false);
  assert.equal(detectGateway(host(addrJson, routeJson), "wan0"), "fe80::a611:bbff:fe7d:ee11");
});

test("without a PD route, a LAN address from the delegation is used (to be widened by the rule)", () => {
  const d = detectPrefix(host(addrJson, routeJson.slice(0, 1)), "wan0", ["lan0"]);
  assert.equal(d === null ? null : formatIpv6Prefix(d.prefix), "2404:7a82:4d02:4101::/64");
  assert.equal(d?.widen, true);
});

test("a /64-only line uses the WAN's RA /64; nothing at all gives null", () => {
  const d = detectPrefix(host(addrJson.slice(0, 1), routeJson.slice(0, 1)), "wan0", ["lan0"]);
  assert.equal(d === null ? null : formatIpv6Prefix(d.prefix), "2404:7a82:1:2::/64");
  assert.equal(detectPrefix(host([], []), "wan0", ["lan0"]), null);
  assert.equal(detectGateway(host([], []), "wan0"), null);
});
