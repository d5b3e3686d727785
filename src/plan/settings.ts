import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import type { MapRuleSpec } from "../mape/rule.ts";
import type { NatAllocator, PortForward } from "./plan.ts";
import type { MethodChoice } from "./method.ts";

/** Everything `up` needs besides the host: the merge of the config file and the command line. */
export interface Settings {
  wan: string | null;
  lan: string[];
  prefix: string | null;
  /** tables | manual: computed here; hb46pp | dhcpv6 | auto: asked from the network (auto: HB46PP, DHCPv6, tables). */
  source: "tables" | "manual" | "auto" | "hb46pp" | "dhcpv6";
  /** The IPv4 method: map-e, ds-lite, or auto (what the line's answer or the tables say). */
  method: MethodChoice;
  /** DS-Lite's AFTR (a name or an IPv6 address) when the line names none; null: the line's, else the tables'. */
  aftr: string | null;
  /** The line's DNS resolvers for HB46PP; empty: learned from the WAN's DHCPv6 answer (option 23). */
  resolvers: string[];
  /** What HB46PP's query says of this CE ([hb46pp] in the configuration); unset: mapectl's defaults. */
  hb46pp: {
    vendorId?: string;
    product?: string;
    version?: string;
    user?: string;
    pass?: string;
  };
  /** A CA bundle for the HB46PP server (t=b), besides the system's. */
  caFile: string | null;
  rule: MapRuleSpec | null;
  rulesFiles: string[];
  overrides: Partial<MapRuleSpec>;
  interfaceId: InterfaceIdLayout | null;
  tunnelName: string;
  mtu: number;
  gateway: string | null;
  defaultRouteMetric: number;
  replaceDefault: boolean;
  forwards: PortForward[];
  /**
   * Who makes the tunnel, the addresses and the routes. vyos: VyOS's own configuration does (the
   * `set` commands of render --target vyos); mapectl then only loads its NAPT table and says what
   * in VyOS's configuration no longer matches the prefix.
   */
  tunnelOwner: "mapectl" | "vyos";
  /** Seconds a closed MAP-E TCP flow keeps its port (conntrack TIME_WAIT); null: the kernel's 120. */
  tcpTimeWait: number | null;
  /** auto: fold, unless nft refuses the fold table (then round-robin); or the one the user chose. */
  allocator: "auto" | NatAllocator;
  /**
   * Flows one LAN host may hold through the tunnel; null or 0: no limit (the default). Off by
   * default because it counts flows, not ports: the kernel reuses each port towards every other
   * destination, so a host with hundreds of flows to many destinations (a browser, a game) takes
   * nothing from the house, and a limit low enough to matter (under the line's ports) would break
   * it; a port set runs out towards one destination, which the limit is there to cap for a device
   * the user knows misbehaves.
   */
  maxPortsPerHost: number | null;
  /** IPIP's parameters and update account, for lines whose HB46PP gives none. */
  ipip: IpipSettingsFields;
}

/** [ipip] in the configuration, --ipv4, --br, --interface-id, --update-url, --update-user. */
export interface IpipSettingsFields {
  /** The fixed address, a.b.c.d or a.b.c.d/len for a routed block. */
  readonly ipv4: string | null;
  /** The BR; null: --br (the MAP-E override's flag) or HB46PP's. */
  readonly br: string | null;
  /** The provider's CE interface ID (the low 64 bits). */
  readonly interfaceId: string | null;
  /** The provider's update URL template (src/provision/ipip-update.ts). */
  readonly updateUrl: string | null;
  /** Seconds between updates; null: DEFAULT_UPDATE_INTERVAL. */
  readonly updateInterval: number | null;
  readonly user: string | null;
  /**
   * Only from the configuration file or the credentials file (mode 0600), never from a flag: argv is
   * visible to every user of the host. Never printed, logged or stored in a plan or state file.
   */
  readonly password: string | null;
  /** A separate file with user and password, mode 0600. */
  readonly credentialsFile: string | null;
}

/**
 * Where parameters come from when neither the configuration nor a flag says. MAP-E: the shipped
 * tables, as ever (the network only when asked). DS-Lite and auto: every source in turn (HB46PP,
 * DHCPv6, then the tables), because the AFTR is the network's to name: the shipped table knows only
 * the big services' prefixes, so with the tables alone a line anywhere else had "no AFTR".
 */
export function defaultSource(method: MethodChoice): Settings["source"] {
  return method === "ds-lite" || method === "auto" ? "auto" : DEFAULT_SETTINGS.source;
}

export const DEFAULT_SETTINGS: Settings = {
  wan: null,
  lan: [],
  prefix: null,
  source: "tables",
  method: "map-e",
  aftr: null,
  resolvers: [],
  hb46pp: {},
  caFile: null,
  rule: null,
  rulesFiles: [],
  overrides: {},
  interfaceId: null,
  tunnelName: "mape",
  mtu: 1460,
  gateway: null,
  defaultRouteMetric: 10,
  replaceDefault: false,
  forwards: [],
  tcpTimeWait: null,
  allocator: "auto",
  maxPortsPerHost: null,
  tunnelOwner: "mapectl",
  ipip: {
    ipv4: null,
    br: null,
    interfaceId: null,
    updateUrl: null,
    updateInterval: null,
    user: null,
    password: null,
    credentialsFile: null,
  },
};
