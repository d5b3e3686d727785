import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BootTable, Neighbour, RouteLookup } from "../diagnose/observation.ts";
import { parseAddresses, parseLinks, parseRoutes, type HostState } from "../plan/observed.ts";
import { runChecked, type CommandRunner } from "./command-runner.ts";
import { HostError } from "./errors.ts";
import { BOOT_BLOCK_BEGIN, VYOS_BOOT_SCRIPT } from "../render/vyos.ts";
import { bootTablePath } from "./boot-table.ts";

/** The full ruleset as libnftables JSON, or null when nft is missing or we may not read it. */
export async function readRuleset(runner: CommandRunner): Promise<unknown> {
  try {
    const r = await runner.run(["nft", "-j", "list", "ruleset"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as unknown) : null;
  } catch {
    return null;
  }
}

/**
 * The host as doctor needs it: links, addresses and routes, all at once. Not observeHost: that also
 * lists mapectl's nft table as text, a second nft process (about a second on a small router) for
 * something doctor reads from the JSON ruleset anyway.
 */
export async function observeForDoctor(runner: CommandRunner): Promise<HostState> {
  const ip = async (args: readonly string[]): Promise<unknown> => {
    const text = await runChecked(runner, ["ip", "-j", ...args]);
    try {
      return JSON.parse(text === "" ? "[]" : text) as unknown;
    } catch {
      throw new HostError("COMMAND_FAILED", `ip -j ${args.join(" ")} printed output that is not JSON`);
    }
  };
  const [links, addresses, routes4, routes6] = await Promise.all([
    ip(["-d", "-s", "link", "show"]),
    ip(["addr", "show"]),
    ip(["-4", "route", "show", "table", "main"]),
    ip(["-6", "route", "show", "table", "main"]),
  ]);
  let forwarding: boolean | null;
  try {
    forwarding = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1";
  } catch {
    forwarding = null;
  }
  return {
    links: parseLinks(links),
    addresses: parseAddresses(addresses),
    routes: [...parseRoutes(routes4, 4), ...parseRoutes(routes6, 6)],
    ipv4Forwarding: forwarding,
    nftTable: null,
  };
}

/** `ip -6 neigh` with the router flag, which tells the WAN's router from other neighbours. */
export async function readNeighbours(runner: CommandRunner): Promise<Neighbour[]> {
  const r = await runner.run(["ip", "-j", "-6", "neigh", "show"]);
  if (r.code !== 0) return [];
  let list: { dst?: string; dev?: string; state?: string[]; router?: unknown }[];
  try {
    list = JSON.parse(r.stdout === "" ? "[]" : r.stdout) as typeof list;
  } catch {
    return [];
  }
  return list.map((n) => ({
    address: n.dst ?? "",
    dev: n.dev ?? "",
    state: n.state ?? [],
    router: "router" in n,
  }));
}

/** What the kernel would do with a packet to `address`: null when it has no route. */
export async function routeGet(runner: CommandRunner, address: string): Promise<RouteLookup | null> {
  const r = await runner.run(["ip", "-j", "-6", "route", "get", address]);
  if (r.code !== 0) return null;
  const [entry] = JSON.parse(r.stdout === "" ? "[]" : r.stdout) as {
    gateway?: string;
    dev?: string;
    type?: string;
  }[];
  if (entry === undefined || entry.type === "unreachable" || entry.type === "blackhole") return null;
  return { gateway: entry.gateway ?? null, dev: entry.dev ?? null };
}

/**
 * The table file mapectl's boot hook loads, when the hook is in VyOS's postconfig script (or the
 * file exists without it); null when neither is there.
 */
export function readBootTable(root = "/"): BootTable | null {
  const script = join(root, VYOS_BOOT_SCRIPT);
  // the file the daemon keeps: MAPECTL_BOOT_TABLE moves it (rehearsals), under a test's root too
  const path = bootTablePath();
  const file = join(root, path);
  let hooked: boolean;
  try {
    hooked = readFileSync(script, "utf8").includes(BOOT_BLOCK_BEGIN);
  } catch {
    hooked = false;
  }
  let text: string | null;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = null;
  }
  return hooked || text !== null ? { path, text } : null;
}

/** VyOS keeps its configuration tree here; then fixes are given as `set` lines too. */
export function isVyos(): boolean {
  return existsSync("/opt/vyatta/etc/config") || existsSync("/usr/libexec/vyos");
}
