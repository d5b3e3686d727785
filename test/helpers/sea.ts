import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BUNDLE = `${ROOT}dist/mapectl.cjs`;

/** dist/mapectl-linux-<arch>, built once and reused while it is newer than the bundle it was made from. */
export function ensureSea(arch: string): string {
  const sea = `${ROOT}dist/mapectl-linux-${arch}`;
  assert.ok(existsSync(BUNDLE), "npm run build first");
  if (existsSync(sea) && statSync(sea).mtimeMs >= statSync(BUNDLE).mtimeMs) return sea;
  const started = Date.now();
  const r = spawnSync(process.execPath, ["scripts/build-sea.mjs", "--arch", arch, "--no-bundle"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  console.log(`built ${sea} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return sea;
}
