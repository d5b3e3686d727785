/**
 * Names and addresses of the lab's topology. Later tests and scenarios depend on them: change them
 * only together with lab/README.md.
 *
 *   lan ─ eth0 ══ lan0 ─ ce ─ wan0 ══ ce0 ┐
 *                                         line0 (bridge) ─ ngn ─ br0 ══ ngn0 ─ br ─ inet0 ══ br0 ─ inet
 *                        (ce2 ─ wan0 ══ ce2-0 ┘, only while the "two CEs on one line" fault is on)
 */
export const NS = { lan: "lan", ce: "ce", ngn: "ngn", br: "br", inet: "inet" } as const;
export type NamespaceName = (typeof NS)[keyof typeof NS] | "ce2";

export const LAN = {
  client: "192.168.1.2",
  gateway: "192.168.1.1",
  prefixLength: 24,
  clientIface: "eth0",
  ceIface: "lan0",
} as const;

export const CE = {
  wan: "wan0",
  lan: "lan0",
  /** Fixed so the CE's link-local address (EUI-64) and the ngn's route for the /56 are known. */
  wanMac: "02:00:5e:00:ce:01",
  wanLinkLocal: "fe80::5eff:fe00:ce01",
  /** The second CE of the "two CEs on one line" fault. */
  wanMac2: "02:00:5e:00:ce:02",
  wanLinkLocal2: "fe80::5eff:fe00:ce02",
} as const;

export const NGN = {
  bridge: "line0",
  cePort: "ce0",
  brIface: "br0",
  /** The router the CE learns from RA: a link-local address only, like the NGN's. */
  routerLinkLocal: "fe80::1",
  /** NTT East's NGN resolver, as FLET'S hands it out over DHCPv6 and RDNSS. */
  dns: "2404:1a8:7f01:a::3",
  /** The HB46PP provisioning server (v6mig), named in the TXT record of 4over6.info. */
  provisioningHost: "v6mig.ngn.test",
  provisioningAddress: "2001:db8:4646::443",
  transit: "2001:db8:ffff::1",
  transitPrefixLength: 64,
  /** Kea needs a subnet on the line to hang the PD pool on; the CE gets no address from it. */
  keaSubnet: "2001:db8:ce::/64",
} as const;

export const BR_NS = {
  ngnIface: "ngn0",
  inetIface: "inet0",
  transit: "2001:db8:ffff::2",
  inetSide: "192.0.2.1",
} as const;

/** Border Relays at the services' real addresses, each on lo in the br namespace. */
export const BORDER_RELAYS = [
  { id: "biglobe_east", name: "BIGLOBE east", address: "2001:260:700:1::1:275" },
  { id: "biglobe_west", name: "BIGLOBE west", address: "2001:260:700:1::1:276" },
  { id: "jpne", name: "JPNE (v6プラス)", address: "2404:9200:225:100::64" },
  { id: "ocn", name: "OCN バーチャルコネクト", address: "2001:380:a120::9" },
  { id: "nuro", name: "NURO", address: "2001:3b8:200:ff9::1" },
] as const;
export type BorderRelayId = (typeof BORDER_RELAYS)[number]["id"];

export const INET = {
  iface: "br0",
  address: "192.0.2.2",
  prefixLength: 30,
  /** "The IPv4 internet": every one of them runs the same servers. */
  hosts: ["8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "203.0.113.80"],
  /** What the inet DNS server answers for any A query. */
  webAddress: "203.0.113.80",
  tcpEchoPort: 7,
  udpEchoPort: 7,
  /** The port that N-connection tests open, echoing like 7 but held open by the clients. */
  manyPort: 9000,
  iperfPort: 5201,
} as const;

/** The lab AFTR's ISP-side IPv4 address (lab/aftr.ts translates DS-Lite's flows to it). */
export const AFTR_IPV4 = "198.51.100.1";
/** The lab AFTR's IPv6 address (on lo in the br namespace) and the name the lab's DNS gives it. */
export const AFTR_ADDRESS = "2001:db8:af72::1";
export const AFTR_NAME = "aftr.ngn.test";
/** The AFTR's second address: where a test moves it, and its name with it (the AFTR renumbered). */
export const AFTR_SECOND_ADDRESS = "2001:db8:af72::2";

export const DEFAULT_PREFIX = "2404:7a82:4d02:4100::/56";

/** Guest paths (inside the RAM overlay, shared by all namespaces). */
export const GUEST = {
  runDir: "/run/mapectl-lab",
  caCert: "/etc/mapectl/lab-ca.pem",
} as const;

/**
 * The fixed-IPv4 IPIP line (v6プラス 固定IP and the like): its BR and the provider's update server
 * live on lo in the br namespace, the fixed address in a documentation block that no MAP-E rule
 * uses. The account is the lab's own; the CE's interface ID is what the provider's sheet would say.
 */
export const IPIP_LAB = {
  br: "2001:db8:1717::64",
  updateAddress: "2001:db8:1717::80",
  updatePort: 8080,
  /** ngn routes this to the br namespace. */
  route: "2001:db8:1717::/64",
  ipv4: "198.51.100.9",
  ipv4Block: "198.51.100.0/24",
  interfaceId: "1234:5678:9abc:def0",
  user: "lab-user",
  password: "lab-Pass-1",
  /** The BR's tunnel to the registered CE. */
  tunnel: "ipipce",
} as const;
