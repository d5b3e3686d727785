import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { VYOS_NFT_PATH } from "../render/vyos.ts";
import { writeFileSynced } from "./synced-file.ts";

/** The nft file VyOS's boot hook loads; MAPECTL_BOOT_TABLE puts it elsewhere (tests, rehearsals). */
export function bootTablePath(): string {
  return process.env.MAPECTL_BOOT_TABLE ?? VYOS_NFT_PATH;
}

/** What happened to the boot table; null when there is no boot hook's directory to keep it in. */
export type BootTableChange =
  | { readonly path: string; readonly action: "written" | "unchanged" | "removed" }
  | { readonly path: string; readonly action: "failed"; readonly error: string };

function failed(path: string, err: unknown): BootTableChange {
  return { path, action: "failed", error: (err as Error).message };
}

/**
 * Makes the file the boot hook loads hold the table just loaded, so a reboot brings back this
 * prefix's NAPT and not an older one. Only where the directory exists (install or render
 * --output-dir made it): elsewhere nothing loads it at boot.
 */
export function syncBootTable(nftScript: string): BootTableChange | null {
  const path = bootTablePath();
  if (!existsSync(dirname(path))) return null;
  try {
    if (existsSync(path) && readFileSync(path, "utf8") === nftScript) return { path, action: "unchanged" };
    writeFileSynced(path, nftScript, 0o644);
    return { path, action: "written" };
  } catch (err) {
    return failed(path, err);
  }
}

/** After down (or the network's "no MAP-E"): the boot hook must not bring back the table just removed. */
export function removeBootTable(): BootTableChange | null {
  const path = bootTablePath();
  if (!existsSync(path)) return null;
  try {
    rmSync(path);
    return { path, action: "removed" };
  } catch (err) {
    return failed(path, err);
  }
}

/** One line for up's output and the daemon's log; null when there is nothing to say. */
export function bootTableNote(change: BootTableChange | null): string | null {
  if (change === null || change.action === "unchanged") return null;
  if (change.action === "failed") {
    return `could not update ${change.path}, the table the boot hook loads (${change.error}): after a reboot the NAPT is stale until the daemon runs`;
  }
  return change.action === "written"
    ? `wrote ${change.path}: the boot hook loads this table at boot`
    : `removed ${change.path}: the boot hook loads no table at boot`;
}
