import type { VyosConfig } from "./config.ts";

/**
 * The nftables tables VyOS 1.4/1.5 generates, written by the project from reading vyos-1x (sagitta;
 * circinus has the same shapes): only what decides whether IPv4 crosses a MAP-E tunnel. Facts, with
 * the file each comes from:
 * - vyos_conntrack (data/templates/conntrack/nftables-ct.j2 L41-49, L58-68, L79-89): PREROUTING and
 *   OUTPUT at priority -300 jump to FW_CONNTRACK, NAT_CONNTRACK (and WLB_CONNTRACK) and then notrack;
 *   each of those chains holds one verdict. NAT_CONNTRACK is accept when a `nat` node exists
 *   (src/conf_mode/system_conntrack.py L94), FW_CONNTRACK when the firewall has a global
 *   state-policy or any rule with state, connection-status or offload-target (L176-189); otherwise
 *   return, and the packet reaches notrack.
 * - vyos_filter (data/templates/firewall/nftables.j2 L36-107, L169-180, L187-241): one base chain per
 *   configured hook at priority filter; `jump VYOS_STATE_POLICY` first when a global state-policy
 *   exists; the rules in number order, each commented "<family>-<hook>-filter-<n>"
 *   (python/vyos/firewall.py L526); last the default action (python/vyos/template.py L593-610).
 * - vyos_nat (data/templates/firewall/nftables-nat.j2 L9-40): POSTROUTING at priority 100, rules
 *   commented "SRC-NAT-<n>".
 * - The MSS clamp is a rule in `table ip raw` chain VYOS_TCP_MSS (python/vyos/ifconfig/interface.py
 *   L622-640), a chain that vyos-firewall-init.conf makes at boot.
 */

/** VyOS's interface names in this profile's CE: eth1 is the lab's WAN, eth0 its LAN. */
export const VYOS_INTERFACES: Readonly<Record<string, string>> = { eth1: "wan0", eth0: "lan0" };

/** The kernel's name for a VyOS interface name. */
export function kernelName(vyosName: string): string {
  return VYOS_INTERFACES[vyosName] ?? vyosName;
}

/** The tables VyOS's commits own: each is deleted and loaded again by its own commit. */
export const VYOS_COMMIT_TABLES = [
  "ip vyos_conntrack",
  "ip6 vyos_conntrack",
  "ip vyos_filter",
  "ip6 vyos_filter",
  "ip vyos_nat",
] as const;

/** The raw table vyos-firewall-init.conf makes for each of IPv4 and IPv6: the same chains in both. */
function rawTable(family: "ip" | "ip6"): string {
  return `table ${family} raw {
	chain VYOS_TCP_MSS {
		type filter hook forward priority -300; policy accept;
	}
	chain vyos_global_rpfilter {
		return
	}
	chain vyos_rpfilter {
		type filter hook prerouting priority -300; policy accept;
		counter jump vyos_global_rpfilter
	}
	chain VYOS_PREROUTING_HOOK {
		type filter hook prerouting priority -300; policy accept;
	}
}
`;
}

/** data/vyos-firewall-init.conf (L1-73), loaded once at boot by src/init/vyos-router L370: never flushes. */
export const FIREWALL_INIT = `table ip nat {
	chain VYOS_PRE_SNAT_HOOK {
		type nat hook postrouting priority 99; policy accept;
		return
	}
}
table inet mangle {
	chain FORWARD {
		type filter hook forward priority -150; policy accept;
	}
}
${rawTable("ip")}${rawTable("ip6")}table inet vrf_zones {
	map ct_iface_map {
		typeof iifname : ct zone
	}
	chain vrf_zones_ct_in {
		type filter hook prerouting priority raw; policy accept;
	}
	chain vrf_zones_ct_out {
		type filter hook output priority raw; policy accept;
	}
}
`;

type Family = "ipv4" | "ipv6";

function hasStatefulRule(config: VyosConfig, family: Family): boolean {
  const base = ["firewall", family];
  for (const hook of config.children(base))
    for (const name of config.children([...base, hook]))
      for (const n of config.children([...base, hook, name, "rule"])) {
        const rule = [...base, hook, name, "rule", n];
        if (["state", "connection-status", "offload-target"].some((k) => config.exists([...rule, k])))
          return true;
      }
  return false;
}

/** FW_CONNTRACK's and NAT_CONNTRACK's verdicts (system_conntrack.py L94-95, L176-189). */
export function conntrackActions(config: VyosConfig): Record<Family, { fw: string; nat: string }> {
  const statePolicy = config.exists(["firewall", "global-options", "state-policy"]);
  const fw = (family: Family) => (statePolicy || hasStatefulRule(config, family) ? "accept" : "return");
  return {
    ipv4: { fw: fw("ipv4"), nat: config.exists(["nat"]) ? "accept" : "return" },
    ipv6: { fw: fw("ipv6"), nat: config.exists(["nat66"]) ? "accept" : "return" },
  };
}

function conntrackTable(family: "ip" | "ip6", actions: { fw: string; nat: string }, wlb: boolean): string {
  return `table ${family} vyos_conntrack {
	chain VYOS_CT_IGNORE {
		return
	}
	chain VYOS_CT_TIMEOUT {
		return
	}
	chain PREROUTING {
		type filter hook prerouting priority -300; policy accept;
		counter jump VYOS_CT_IGNORE
		counter jump VYOS_CT_TIMEOUT
		counter jump FW_CONNTRACK
		counter jump NAT_CONNTRACK
${wlb ? "\t\tcounter jump WLB_CONNTRACK\n" : ""}		notrack
	}
	chain OUTPUT {
		type filter hook output priority -300; policy accept;
		counter jump VYOS_CT_IGNORE
		counter jump VYOS_CT_TIMEOUT
		counter jump FW_CONNTRACK
		counter jump NAT_CONNTRACK
		notrack
	}
	chain FW_CONNTRACK {
		${actions.fw}
	}
	chain NAT_CONNTRACK {
		${actions.nat}
	}
${wlb ? "\tchain WLB_CONNTRACK {\n\t\treturn\n\t}\n" : ""}}
`;
}

/** Both vyos_conntrack tables, as system_conntrack.py renders them for this configuration. */
export function conntrackTables(config: VyosConfig): string {
  const actions = conntrackActions(config);
  return conntrackTable("ip", actions.ipv4, true) + conntrackTable("ip6", actions.ipv6, false);
}

/** One firewall rule as python/vyos/firewall.py parse_rule writes the parts the profile supports. */
function firewallRule(config: VyosConfig, path: string[], family: Family, comment: string): string {
  const words: string[] = [];
  const iif = config.value([...path, "inbound-interface", "name"]);
  if (iif !== null) words.push(`iifname "${kernelName(iif)}"`);
  const oif = config.value([...path, "outbound-interface", "name"]);
  if (oif !== null) words.push(`oifname "${kernelName(oif)}"`);
  const source = config.value([...path, "source", "address"]);
  if (source !== null) words.push(`${family === "ipv6" ? "ip6" : "ip"} saddr ${source}`);
  const protocol = config.value([...path, "protocol"]);
  if (protocol !== null) words.push(`meta l4proto ${protocol}`);
  const states = config.children([...path, "state"]);
  if (states.length > 0) words.push(`ct state {${states.join(",")}}`);
  const action = config.value([...path, "action"]) ?? "accept";
  return `${words.join(" ")} counter ${action} comment "${comment}"`.trim();
}

const HOOKS: Record<string, { chain: string; short: string }> = {
  forward: { chain: "FORWARD", short: "FWD" },
  input: { chain: "INPUT", short: "INP" },
  output: { chain: "OUTPUT", short: "OUT" },
};

function filterChains(config: VyosConfig, family: Family, statePolicy: boolean): string[] {
  const out: string[] = [];
  const six = family === "ipv6" ? "6" : "";
  for (const hook of ["forward", "input", "output"]) {
    const base = ["firewall", family, hook, "filter"];
    if (!config.exists(base)) continue;
    const names = HOOKS[hook] ?? { chain: hook.toUpperCase(), short: hook };
    const chain = family === "ipv6" ? `VYOS_IPV6_${names.chain}_filter` : `VYOS_${names.chain}_filter`;
    const rules = config
      .children([...base, "rule"])
      .sort((a, b) => Number(a) - Number(b))
      .filter((n) => !config.exists([...base, "rule", n, "disable"]))
      .map((n) => firewallRule(config, [...base, "rule", n], family, `${family}-${names.short}-filter-${n}`));
    const fallback = config.value([...base, "default-action"]) ?? "accept";
    out.push(
      `\tchain ${chain} {`,
      `\t\ttype filter hook ${hook} priority filter; policy accept;`,
      ...(statePolicy ? [`\t\tjump VYOS_STATE_POLICY${six}`] : []),
      ...rules.map((r) => `\t\t${r}`),
      `\t\tcounter ${fallback} comment "${names.short}-filter default-action ${fallback}"`,
      "\t}",
    );
  }
  return out;
}

function statePolicyChain(config: VyosConfig, six: string): string[] {
  const base = ["firewall", "global-options", "state-policy"];
  const rules = ["established", "invalid", "related"]
    .filter((s) => config.exists([...base, s]))
    .map((s) => `\t\tct state ${s} counter ${config.value([...base, s, "action"]) ?? "accept"}`);
  return [`\tchain VYOS_STATE_POLICY${six} {`, ...rules, "\t\treturn", "\t}"];
}

/** Both vyos_filter tables (nftables.j2): always present, with chains only for configured hooks. */
export function filterTables(config: VyosConfig): string {
  const statePolicy = config.exists(["firewall", "global-options", "state-policy"]);
  const table = (family: Family) => {
    const six = family === "ipv6" ? "6" : "";
    return [
      `table ${family === "ipv6" ? "ip6" : "ip"} vyos_filter {`,
      ...filterChains(config, family, statePolicy),
      ...(statePolicy ? statePolicyChain(config, six) : []),
      "}",
      "",
    ].join("\n");
  };
  return table("ipv4") + table("ipv6");
}

/** vyos_nat with its source rules (masquerade only), or null when there is no `nat` node. */
export function natTable(config: VyosConfig): string | null {
  if (!config.exists(["nat"])) return null;
  const base = ["nat", "source", "rule"];
  const rules = config
    .children(base)
    .sort((a, b) => Number(a) - Number(b))
    .map((n) => {
      const oif = config.value([...base, n, "outbound-interface", "name"]);
      const translation = config.value([...base, n, "translation", "address"]) ?? "masquerade";
      const target = translation === "masquerade" ? "masquerade" : `snat to ${translation}`;
      return `\t\t${oif === null ? "" : `oifname "${kernelName(oif)}" `}counter ${target} comment "SRC-NAT-${n}"`;
    });
  return [
    "table ip vyos_nat {",
    "\tchain PREROUTING {",
    "\t\ttype nat hook prerouting priority -100; policy accept;",
    "\t}",
    "\tchain POSTROUTING {",
    "\t\ttype nat hook postrouting priority 100; policy accept;",
    ...rules,
    "\t}",
    "}",
    "",
  ].join("\n");
}

/** The VYOS_TCP_MSS rule `ip adjust-mss clamp-mss-to-pmtu` adds for an interface (interface.py L635-637). */
export function mssClampRule(ifname: string): string {
  return `oifname "${ifname}" tcp flags & (syn|rst) == syn tcp option maxseg size set rt mtu`;
}

/**
 * One commit's nft transaction: each of VyOS's own tables deleted and loaded again (the templates
 * start with `delete table …` unless it is the first install, written here as create-then-delete so
 * one file serves both), never a flush of the ruleset, never another table.
 */
export function commitTransaction(config: VyosConfig): string {
  const drop = VYOS_COMMIT_TABLES.flatMap((t) => [`table ${t} {}`, `delete table ${t}`]);
  const nat = natTable(config);
  return [...drop, "", conntrackTables(config), filterTables(config), nat ?? ""].join("\n");
}
