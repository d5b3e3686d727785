import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Compares text with test/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead (review the
 * diff before committing it).
 */
export function assertGolden(name: string, actual: string): void {
  const path = fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) {
    if (process.env.CI === "true" && !existsSync(path)) assert.fail(`golden file ${name} is missing`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.equal(
    actual,
    readFileSync(path, "utf8"),
    `output differs from test/golden/${name} (UPDATE_GOLDEN=1 to accept)`,
  );
}
