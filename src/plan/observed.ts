/**
 * What the host looks like, read from `ip -j` and `nft -j`: typed, tolerant parsers (iproute2's
 * JSON has changed between versions and omits keys freely), no I/O.
 */
export interface ObservedTunnel {
  readonly mode: string | null;
  readonly local: string | null;
  readonly remote: string | null;
  readonly link: string | null;
  /** "none" when the encapsulation limit option is off, else the limit the kernel adds. */
  readonly encapLimit: number | "none" | null;
}

export interface ObservedLink {
  readonly name: string;
  readonly index: number;
  readonly mtu: number;
  readonly up: boolean;
  readonly kind: string | null;
  readonly tunnel: ObservedTunnel | null;
  readonly stats: {
    readonly rxPackets: number;
    readonly txPackets: number;
    readonly rxBytes: number;
    readonly txBytes: number;
  } | null;
}

export interface ObservedAddress {
  readonly dev: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLength: number;
  readonly scope: string;
  readonly tentative: boolean;
  readonly dadFailed: boolean;
  readonly temporary: boolean;
  readonly deprecated: boolean;
}

export interface ObservedRoute {
  readonly family: 4 | 6;
  readonly dst: string;
  readonly gateway: string | null;
  readonly dev: string | null;
  readonly protocol: string;
  readonly metric: number;
  readonly type: string;
}

export interface HostState {
  readonly links: readonly ObservedLink[];
  readonly addresses: readonly ObservedAddress[];
  readonly routes: readonly ObservedRoute[];
  readonly ipv4Forwarding: boolean | null;
  /**
   * The live `nft list table ip mapectl` text, followed by `nft list table netdev mapectl` when that
   * exists (the fold on the tunnel device), or null when neither table exists.
   */
  readonly nftTable: string | null;
  /** The kernel has nftables flowtables; absent: unknown, taken as no. */
  readonly flowtables?: boolean;
  /** The kernel has netdev egress hooks; absent: unknown, taken as no. */
  readonly netdevEgress?: boolean;
  /**
   * Optimistic duplicate address detection (RFC 4429): whether the kernel has it, and each
   * interface's net.ipv6.conf.<dev>.optimistic_dad (the kernel allows the flag where the device's
   * or `all`'s is on), and whether mapectl may switch it (not where /proc/sys is mounted read-only,
   * as in many containers). Absent: not read, or the kernel has none (CONFIG_IPV6_OPTIMISTIC_DAD off).
   */
  readonly optimisticDad?: {
    readonly all: boolean;
    readonly devices: Readonly<Record<string, boolean>>;
    readonly writable: boolean;
  };
}

type Json = Record<string, unknown>;

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => typeof v === "object" && v !== null) : [];
}
function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
function num(value: unknown, fallback = 0): number {
  return typeof value === "number" ? value : fallback;
}

function parseTunnel(info: Json | null): ObservedTunnel | null {
  if (info === null) return null;
  const data = (typeof info.info_data === "object" && info.info_data !== null ? info.info_data : {}) as Json;
  const ignore = data.ip6_tnl_f_ign_encap_limit === true;
  return {
    mode: str(data.proto),
    local: str(data.local),
    remote: str(data.remote),
    link: str(data.link),
    encapLimit: ignore ? "none" : typeof data.encap_limit === "number" ? data.encap_limit : null,
  };
}

/** `ip -j -d -s link show` */
export function parseLinks(json: unknown): ObservedLink[] {
  return records(json).map((l) => {
    const info = typeof l.linkinfo === "object" && l.linkinfo !== null ? (l.linkinfo as Json) : null;
    const kind = info === null ? null : str(info.info_kind);
    const stats = typeof l.stats64 === "object" && l.stats64 !== null ? (l.stats64 as Json) : null;
    const rx = stats !== null && typeof stats.rx === "object" ? (stats.rx as Json) : null;
    const tx = stats !== null && typeof stats.tx === "object" ? (stats.tx as Json) : null;
    const flags = Array.isArray(l.flags) ? l.flags : [];
    return {
      name: str(l.ifname) ?? "",
      index: num(l.ifindex),
      mtu: num(l.mtu),
      up: flags.includes("UP"),
      kind,
      tunnel: kind === "ip6tnl" ? parseTunnel(info) : null,
      stats:
        rx === null || tx === null
          ? null
          : {
              rxPackets: num(rx.packets),
              txPackets: num(tx.packets),
              rxBytes: num(rx.bytes),
              txBytes: num(tx.bytes),
            },
    };
  });
}

/** `ip -j addr show` */
export function parseAddresses(json: unknown): ObservedAddress[] {
  const out: ObservedAddress[] = [];
  for (const link of records(json)) {
    const dev = str(link.ifname) ?? "";
    for (const a of records(link.addr_info)) {
      const family = a.family === "inet6" ? 6 : a.family === "inet" ? 4 : null;
      const address = str(a.local);
      if (family === null || address === null) continue;
      out.push({
        dev,
        family,
        address,
        prefixLength: num(a.prefixlen),
        scope: str(a.scope) ?? "global",
        tentative: a.tentative === true,
        dadFailed: a.dadfailed === true,
        temporary: a.temporary === true,
        deprecated: a.deprecated === true,
      });
    }
  }
  return out;
}

/** `ip -j -4 route show table main` / `ip -j -6 route show table main` */
export function parseRoutes(json: unknown, family: 4 | 6): ObservedRoute[] {
  return records(json).map((r) => ({
    family,
    dst: str(r.dst) ?? "default",
    gateway: str(r.gateway),
    dev: str(r.dev),
    protocol: typeof r.protocol === "number" ? String(r.protocol) : (str(r.protocol) ?? "boot"),
    metric: num(r.metric),
    type: str(r.type) ?? "unicast",
  }));
}
