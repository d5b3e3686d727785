import type { Command } from "commander";
import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import { DEFAULT_SETTINGS } from "../plan/settings.ts";
import { collect, interfaceIdOption, METHOD_HELP, SOURCE_HELP } from "./common-options.ts";

// Only option definitions here: the parsing (zod, TOML) loads lazily in settings.ts so that
// commands that do not need it start fast.
export const DEFAULT_CONFIG = "/etc/mapectl/config.toml";

export interface PlanFlags {
  config?: string;
  wan?: string;
  lan?: string[];
  prefix?: string;
  source?: string;
  method?: string;
  aftr?: string;
  resolver?: string[];
  caFile?: string;
  rule?: string;
  rulesFile?: string[];
  br?: string;
  override?: string;
  iid?: InterfaceIdLayout;
  tunnelName?: string;
  mtu?: string;
  gateway?: string;
  metric?: string;
  replaceDefault?: boolean;
  forward?: string[];
  tcpTimeWait?: string;
  tunnelOwner?: string;
  ipv4?: string;
  interfaceId?: string;
  updateUrl?: string;
  updateUser?: string;
  credentialsFile?: string;
}

/** The options every command that builds a plan understands; each one overrides the config file. */
export function addPlanOptions(command: Command): Command {
  return command
    .option("--config <file>", `configuration file (default ${DEFAULT_CONFIG}, if it exists)`)
    .option("--wan <if>", "the WAN interface (IPv6 towards the ISP)")
    .option("--lan <if>", "a LAN interface (repeatable)", collect)
    .option("--prefix <prefix>", "the delegated prefix (default: read from the host)")
    .option("--source <source>", SOURCE_HELP)
    .option("--method <method>", METHOD_HELP)
    .option(
      "--aftr <name-or-address>",
      "DS-Lite's AFTR when the line names none (default: HB46PP's, DHCPv6 option 64's, else the known AFTR of the prefix's service)",
    )
    .option(
      "--resolver <address>",
      "the line's DNS resolver for HB46PP (repeatable; default: the DNS servers of the WAN's DHCPv6 answer, never /etc/resolv.conf)",
      collect,
    )
    .option("--ca-file <file>", "extra CA certificates for the HB46PP server")
    .option("--rule <spec>", "a manual rule: ipv6-prefix=…,ipv4-prefix=…,ea-bits=…,psid-offset=…[,br=…]")
    .option("--rules-file <file>", "add rules from a JSON file (repeatable)", collect)
    .option("--br <address>", "the BR address (overrides the rule's)")
    .option("--override <spec>", "replace fields of the matched rule (keys as for --rule)")
    .addOption(interfaceIdOption("CE interface-ID layout"))
    .option("--tunnel-name <name>", `tunnel interface name (default ${DEFAULT_SETTINGS.tunnelName})`)
    .option("--mtu <n>", `tunnel MTU (default ${DEFAULT_SETTINGS.mtu})`)
    .option("--gateway <address>", "the BR's next hop (default: the WAN's IPv6 default router)")
    .option(
      "--metric <n>",
      `metric of the IPv4 default route (default ${DEFAULT_SETTINGS.defaultRouteMetric})`,
    )
    .option("--replace-default", "replace an existing IPv4 default route (down restores it)")
    .option("--forward <spec>", "forward a port: tcp/5140=192.168.1.10[:22] (repeatable)", collect)
    .option(
      "--tunnel-owner <owner>",
      "mapectl (default) makes tunnel, addresses and routes; vyos: VyOS's configuration does, mapectl loads only its NAPT table",
    )
    .option(
      "--tcp-time-wait <seconds>",
      "how long a closed TCP flow through the tunnel keeps its port (default: the kernel's 120)",
    )
    .option("--ipv4 <address[/len]>", "IPIP: the fixed IPv4 address (or routed block) the provider assigned")
    .option(
      "--interface-id <id>",
      "IPIP: the CE interface ID the provider assigned (low 64 bits, e.g. 1234:5678:9abc:def0)",
    )
    .option(
      "--update-url <template>",
      "IPIP: the provider's update URL, with {user} {password} {ipv6} {prefix} {ipv4}",
    )
    .option(
      "--update-user <id>",
      "IPIP: the update URL's user ID (the password only from the configuration file)",
    )
    .option(
      "--credentials-file <file>",
      "IPIP: a file (mode 0600) with user = … and password = … for the update URL",
    );
}
