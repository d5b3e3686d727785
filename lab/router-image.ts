import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runHost } from "./host-command.ts";
import { cacheRoot } from "./paths.ts";

/**
 * The router system the `router` scenario boots: Debian 12 from Debian's own packages, with systemd
 * as PID 1, systemd-networkd for the WAN (RA, DHCPv6-PD) and the LAN, iproute2 and nftables. No
 * Node: mapectl arrives as its .deb, whose single executable needs nothing else.
 */
export const ROUTER_SUITE = "bookworm";
export const ROUTER_MIRROR = "http://deb.debian.org/debian";
export const ROUTER_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "iproute2",
  "nftables",
  "conntrack",
  "procps",
  "iputils-ping",
] as const;

export interface RouterImage {
  /** The tree that systemd-nspawn boots (the guest writes into its RAM overlay, never here). */
  readonly root: string;
  readonly key: string;
  /** Host seconds the build took; 0 when it came from the cache. */
  readonly buildSeconds: number;
}

function imageFilesDir(repo: string): string {
  return join(repo, "lab", "router-image");
}

/** The cache key: the suite, the mirror, the package list and every file of the build script. */
export function routerImageKey(repo: string): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ suite: ROUTER_SUITE, mirror: ROUTER_MIRROR, packages: ROUTER_PACKAGES }));
  const dir = imageFilesDir(repo);
  for (const name of readdirSync(dir).sort()) {
    hash.update(`\0${name}\0`);
    hash.update(readFileSync(join(dir, name)));
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The cached router image for this repository's build script, built with mmdebstrap on first use
 * (about 20-60 s with a reachable mirror). Old images of other keys are removed.
 */
export function prepareRouterImage(repo: string, log: (line: string) => void = () => undefined): RouterImage {
  const key = routerImageKey(repo);
  const images = join(cacheRoot(), "router-images");
  const dir = join(images, key);
  if (existsSync(join(dir, "image.json"))) return { root: join(dir, "root"), key, buildSeconds: 0 };
  if (!spawnable("mmdebstrap")) {
    throw new Error("mmdebstrap is missing: apt-get install mmdebstrap (or run scripts/setup.sh)");
  }
  mkdirSync(images, { recursive: true });
  const started = Date.now();
  const work = join(images, `.partial-${key}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  log(`lab: building the router image ${key} with mmdebstrap (once, into ${dir})`);
  runHost([
    "mmdebstrap",
    "--quiet",
    "--mode=root",
    "--variant=minbase",
    `--include=${ROUTER_PACKAGES.join(",")}`,
    ROUTER_SUITE,
    join(work, "root"),
    ROUTER_MIRROR,
  ]);
  runHost(["sh", join(imageFilesDir(repo), "setup.sh"), join(work, "root")]);
  const buildSeconds = (Date.now() - started) / 1000;
  writeFileSync(join(work, "image.json"), JSON.stringify({ key, packages: ROUTER_PACKAGES, buildSeconds }));
  for (const name of readdirSync(images)) {
    if (!name.startsWith(".")) rmSync(join(images, name), { recursive: true, force: true });
  }
  renameSync(work, dir);
  log(`lab: router image built in ${buildSeconds.toFixed(1)} s`);
  return { root: join(dir, "root"), key, buildSeconds };
}

function spawnable(tool: string): boolean {
  try {
    return runHost([tool, "--version"], { allowFailure: true }).code === 0;
  } catch {
    return false;
  }
}
