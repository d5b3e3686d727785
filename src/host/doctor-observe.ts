import { existsSync } from "node:fs";
import type { Neighbour, RouteLookup } from "../diagnose/observation.ts";
import type { CommandRunner } from "./command-runner.ts";

/** The full ruleset as libnftables JSON, or null when nft is missing or we may not read it. */
export async function readRuleset(runner: CommandRunner): Promise<unknown> {
  try {
    const r = await runner.run(["nft", "-j", "list", "ruleset"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as unknown) : null;
  } catch {
    return null;
  }
}

export async function readNeighbours(runner: CommandRunner): Promise<Neighbour[]> {
  const r = await runner.run(["ip", "-j", "-6", "neigh", "show"]);
  if (r.code !== 0) return [];
  const list = JSON.parse(r.stdout === "" ? "[]" : r.stdout) as {
    dst?: string;
    dev?: string;
    state?: string[];
  }[];
  return list.map((n) => ({ address: n.dst ?? "", dev: n.dev ?? "", state: n.state ?? [] }));
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

/** VyOS keeps its configuration tree here; then fixes are given as `set` lines too. */
export function isVyos(): boolean {
  return existsSync("/opt/vyatta/etc/config") || existsSync("/usr/libexec/vyos");
}
