import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { parseAddresses, parseLinks, parseRoutes, type HostState } from "../plan/observed.ts";
import { NFT_TABLE } from "../render/nftables.ts";
import { runChecked, type CommandRunner } from "./command-runner.ts";
import { HostError } from "./errors.ts";

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text === "" ? "[]" : text);
  } catch {
    throw new HostError("COMMAND_FAILED", `${what} printed output that is not JSON`);
  }
}

async function ipJson(runner: CommandRunner, args: readonly string[]): Promise<unknown> {
  return parseJson(await runChecked(runner, ["ip", "-j", ...args]), `ip -j ${args.join(" ")}`);
}

function readForwarding(): boolean | null {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1";
  } catch {
    return null;
  }
}

const IPV6_CONF = "/proc/sys/net/ipv6/conf";

/**
 * Every interface's optimistic_dad (and all's), read from /proc rather than by a sysctl process:
 * a few small files, where a process costs a noticeable part of a second on a slow router.
 * Undefined when the kernel has no optimistic DAD (no such file) or /proc is not readable.
 */
function readOptimisticDad(): HostState["optimisticDad"] {
  const on = (dev: string): boolean =>
    readFileSync(`${IPV6_CONF}/${dev}/optimistic_dad`, "utf8").trim() !== "0";
  try {
    const all = on("all");
    const devices: Record<string, boolean> = {};
    for (const dev of readdirSync(IPV6_CONF)) {
      if (dev === "all" || dev === "default") continue;
      try {
        devices[dev] = on(dev);
      } catch {
        // the interface went away between the listing and the read
      }
    }
    return { all, devices, writable: canWrite(`${IPV6_CONF}/all/optimistic_dad`) };
  } catch {
    return undefined;
  }
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

let flowtables: boolean | undefined;

/**
 * Whether this kernel has nftables flowtables for IPv4 (nft_flow_offload, and the flowtable type:
 * nf_flow_table_inet, nf_flow_table_ipv4 before 5.x merged them; modules or built in): mapectl's
 * table then gives the tunnel's established flows the fast path; without them, loading a table
 * with a flowtable fails, so it is left out. Read from the module lists, not by loading anything,
 * and once a process: the running kernel's modules stay what they are, and observeHost runs at
 * every reconcile, where reading modules.dep (hundreds of kilobytes) each time would be waste.
 */
export function kernelHasFlowtables(): boolean {
  flowtables ??= readKernelHasFlowtables();
  return flowtables;
}

function readKernelHasFlowtables(): boolean {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  const release = read("/proc/sys/kernel/osrelease").trim();
  const lists = [read("/proc/modules").replace(/^(\S+) .*$/gm, "$1.ko")];
  if (release !== "" && !release.includes("/")) {
    lists.push(...["modules.dep", "modules.builtin"].map((f) => read(`/lib/modules/${release}/${f}`)));
  }
  const has = (name: RegExp) => lists.some((text) => new RegExp(`(^|/)${name.source}\\.ko`, "m").test(text));
  return has(/nft_flow_offload/) && has(/nf_flow_table_(inet|ipv4)/);
}

let netdevEgress: boolean | undefined;

/**
 * Whether this kernel has netdev egress hooks (CONFIG_NETFILTER_EGRESS, Linux 5.16 and later), where
 * the fold allocator goes beside the fast path. The kernel's build configuration says so where it is
 * readable (/boot/config-<release>, as distributions ship it); else the release: the option came
 * with 5.16 and defaults to on. Once a process, like kernelHasFlowtables.
 */
export function kernelHasNetdevEgress(): boolean {
  netdevEgress ??= readKernelHasNetdevEgress();
  return netdevEgress;
}

function readKernelHasNetdevEgress(): boolean {
  let release: string;
  try {
    release = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return false;
  }
  if (release !== "" && !release.includes("/")) {
    try {
      return /^CONFIG_NETFILTER_EGRESS=y$/m.test(readFileSync(`/boot/config-${release}`, "utf8"));
    } catch {
      // no configuration shipped: judge by the release
    }
  }
  const [major, minor] = release.split(".").map((n) => Number.parseInt(n, 10));
  return major !== undefined && minor !== undefined && (major > 5 || (major === 5 && minor >= 16));
}

/** mapectl's tables as nft lists them: ip, then netdev (the fold on the tunnel) when it exists. */
async function listTables(runner: CommandRunner): Promise<string | null> {
  const [ip, netdev] = await Promise.all(
    (["ip", "netdev"] as const).map((family) => runner.run(["nft", "list", "table", family, NFT_TABLE])),
  );
  const listed = [ip, netdev].filter((r) => r?.code === 0).map((r) => r?.stdout.trim() ?? "");
  return listed.length === 0 ? null : listed.join("\n");
}

/** Reads everything reconcile, status and doctor compare with the plan, in one pass. */
export async function observeHost(runner: CommandRunner): Promise<HostState> {
  // All at once: on a slow router each is mostly its process's start-up, and they read apart.
  const [links, addresses, routes4, routes6, nftTable] = await Promise.all([
    ipJson(runner, ["-d", "-s", "link", "show"]),
    ipJson(runner, ["addr", "show"]),
    ipJson(runner, ["-4", "route", "show", "table", "main"]),
    ipJson(runner, ["-6", "route", "show", "table", "main"]),
    listTables(runner),
  ]);
  const optimisticDad = readOptimisticDad();
  return {
    links: parseLinks(links),
    addresses: parseAddresses(addresses),
    routes: [...parseRoutes(routes4, 4), ...parseRoutes(routes6, 6)],
    ipv4Forwarding: readForwarding(),
    nftTable,
    flowtables: kernelHasFlowtables(),
    netdevEgress: kernelHasNetdevEgress(),
    ...(optimisticDad === undefined ? {} : { optimisticDad }),
  };
}
