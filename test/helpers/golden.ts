import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Compares text with test/golden/<name>. A missing golden file fails like a different one, so a
 * renamed test or a typo in a name cannot pass by writing what it produced. UPDATE_GOLDEN=1 writes
 * (or rewrites) the file instead of comparing: review the diff before committing it.
 */
export function assertGolden(name: string, actual: string): void {
  const path = fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    assert.fail(`golden file test/golden/${name} is missing (UPDATE_GOLDEN=1 to create it, then review it)`);
  }
  assert.equal(
    actual,
    readFileSync(path, "utf8"),
    `output differs from test/golden/${name} (UPDATE_GOLDEN=1 to accept)`,
  );
}
