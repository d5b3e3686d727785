import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * The repository root, found by walking up from the running script. The CLI is bundled to CommonJS
 * (no import.meta.url), tests run as ESM under tsx, so both start from process.argv[1] or the cwd.
 */
export function repoRoot(): string {
  const fromEnv = process.env.MAPECTL_REPO;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  const starts: string[] = [];
  const script = process.argv[1];
  if (script !== undefined && existsSync(script)) starts.push(dirname(realpathSync(script)));
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, "lab", "guest", "init.sh")) && existsSync(join(dir, "package.json"))) {
        return dir;
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(
    "cannot find the mapectl repository (lab/guest/init.sh): run from inside it or set MAPECTL_REPO",
  );
}

/** Where kernels, initramfs and certificates are cached between runs; never inside the guest's view of /tmp. */
export function cacheRoot(): string {
  const fromEnv = process.env.MAPECTL_LAB_CACHE;
  return fromEnv !== undefined && fromEnv !== "" ? resolve(fromEnv) : "/var/cache/mapectl-lab";
}
