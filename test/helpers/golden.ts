import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { applyDiff, lineDiff } from "./golden-diff.ts";

const goldenPath = (name: string) => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));

/**
 * The expected text of test/golden/<name>: the file itself or, where the golden is kept as its
 * difference from another golden, <name>.diff (its first line `base: <that golden>`) applied to that
 * golden's text. Null when neither exists.
 */
export function goldenText(name: string): string | null {
  if (existsSync(goldenPath(name))) return readFileSync(goldenPath(name), "utf8");
  if (!existsSync(goldenPath(`${name}.diff`))) return null;
  const [head = "", ...hunks] = readFileSync(goldenPath(`${name}.diff`), "utf8").split(/(?<=\n)/);
  const base = goldenText(/^base: (\S+)\n$/.exec(head)?.[1] ?? "");
  if (base === null) throw new Error(`test/golden/${name}.diff: its first line names no golden ("${head}")`);
  return applyDiff(base, hunks.join(""));
}

/**
 * Compares text with test/golden/<name>. A missing golden file fails like a different one, so a
 * renamed test or a typo in a name cannot pass by writing what it produced. UPDATE_GOLDEN=1 writes
 * (or rewrites) the file instead of comparing: review the diff before committing it. With `base`,
 * the golden is kept as <name>.diff, its difference from test/golden/<base> (see golden-diff.ts).
 */
export function assertGolden(name: string, actual: string, base?: string): void {
  if (process.env.UPDATE_GOLDEN === "1") {
    const path = goldenPath(base === undefined ? name : `${name}.diff`);
    rmSync(goldenPath(base === undefined ? `${name}.diff` : name), { force: true });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(
      path,
      base === undefined ? actual : `base: ${base}\n${lineDiff(goldenText(base) ?? "", actual)}`,
    );
    return;
  }
  const expected = goldenText(name);
  if (expected === null) {
    assert.fail(`golden file test/golden/${name} is missing (UPDATE_GOLDEN=1 to create it, then review it)`);
  }
  assert.equal(actual, expected, `output differs from test/golden/${name} (UPDATE_GOLDEN=1 to accept)`);
}
