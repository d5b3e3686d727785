import { tomlComment, tomlString } from "../text/toml.ts";
import type { HostState } from "./observed.ts";

export interface StarterGuess {
  readonly wan: string | null;
  readonly lan: readonly string[];
  readonly prefixNote: string | null;
  readonly parametersNote: string | null;
  /** VyOS: its configuration makes the tunnel (tunN), mapectl only the NAPT table. */
  readonly vyos?: boolean;
}

/** The WAN is where the IPv6 default route points; LANs are the other interfaces with a private IPv4. */
export function guessInterfaces(host: HostState): { wan: string | null; lan: string[] } {
  const wan = host.routes.find((r) => r.family === 6 && r.dst === "default" && r.dev !== null)?.dev ?? null;
  const lan = [
    ...new Set(
      host.addresses
        .filter(
          (a) =>
            a.family === 4 &&
            a.dev !== wan &&
            a.dev !== "lo" &&
            /^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.)/.test(a.address),
        )
        .map((a) => a.dev),
    ),
  ].filter((dev) => host.links.find((l) => l.name === dev)?.kind !== "ip6tnl");
  return { wan, lan };
}

const q = tomlString;

/** A commented /etc/mapectl/config.toml: what was seen is filled in, everything else explained. */
export function renderStarterConfig(guess: StarterGuess): string {
  return `# mapectl configuration (written by mapectl init; edit freely).
# Every setting can also be given on the command line; see mapectl up --help.

# The interface towards the ISP (IPv6 only on FLET'S IPoE).
${guess.wan === null ? '# wan = "eth1"        # not detected: no IPv6 default route yet' : `wan = ${q(guess.wan)}`}

# Interfaces of the home network.
lan = [${guess.lan.map(q).join(", ")}]

[parameters]
# Where the MAP-E parameters come from: "tables" (the shipped rule tables) or "manual".
source = "tables"
# The delegated prefix; by default it is read from the host${guess.prefixNote === null ? "" : ` (now: ${tomlComment(guess.prefixNote)})`}.
# prefix = "2404:7a82:4d02:4100::/56"
${guess.parametersNote === null ? "" : `# For that prefix: ${tomlComment(guess.parametersNote)}\n`}# Override the BR or the CE interface-ID layout only if your ISP told you so.
# br = "2001:260:700:1::1:275"
# interface-id = "draft-03"     # or "rfc7597"
# Your own rules (JSON, same shape as the shipped table):
# rules-files = ["/etc/mapectl/rules.json"]
# A manual rule, with source = "manual":
# [parameters.rule]
# ipv6-prefix = "2404:7a82:4c00::/38"
# ipv4-prefix = "133.209.12.0/22"
# ea-bits = 18
# psid-offset = 4
# br = "2001:260:700:1::1:275"

[tunnel]
${
  guess.vyos === true
    ? `name = "tun0"                   # VyOS's tunnel (render --target vyos makes it)
owner = "vyos"                  # VyOS's configuration makes tunnel, addresses, routes; mapectl the NAPT`
    : `name = "mape"
# owner = "vyos"                # on VyOS: its configuration makes them; mapectl only the NAPT table`
}
mtu = 1460                      # the NGN's 1500 less the 40-byte IPv6 header
# gateway = "fe80::1"           # the BR's next hop; default: the WAN's IPv6 default router

[routing]
default-route-metric = 10
replace-default = false         # true: replace an existing IPv4 default route (down restores it)

# [nat]
# tcp-time-wait = 30            # seconds a closed TCP flow holds its port (kernel: 120); with a
#                               # few hundred ports, a shorter one frees them sooner
# allocator = "auto"           # fold: any free port of the set for every new flow; round-robin:
#                               # one block per flow (auto: fold unless this nft refuses it)
# max-ports-per-host = 120      # flows one LAN host may hold at once (default: no limit; a port
#                               # is reused towards every destination, so flows are not ports)

# Port forwards from the MAP-E address; the port must be inside your port set (see mapectl calc).
# [[forward]]
# protocol = "tcp"
# port = 5140
# to = "192.168.1.10:22"
`;
}
