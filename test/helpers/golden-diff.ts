// A golden kept as its difference from another golden: a line diff in the unified format with no
// context lines (what `diff -U0 base target` prints, without the file headers). Where two goldens
// are the same renderer's output for two inputs, the second one's file then shows only what the
// second input changes, and a change to the shared text is reviewed once, in the base.

/** The longest common subsequence of two line lists, as pairs of indexes (a in `base`, b in `target`). */
function commonLines(base: readonly string[], target: readonly string[]): [number, number][] {
  const rows = base.length + 1;
  const cols = target.length + 1;
  const length = new Uint32Array(rows * cols);
  for (let i = base.length - 1; i >= 0; i--)
    for (let j = target.length - 1; j >= 0; j--)
      length[i * cols + j] =
        base[i] === target[j]
          ? (length[(i + 1) * cols + j + 1] ?? 0) + 1
          : Math.max(length[(i + 1) * cols + j] ?? 0, length[i * cols + j + 1] ?? 0);
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < base.length && j < target.length) {
    if (base[i] === target[j]) pairs.push([i++, j++]);
    else if ((length[(i + 1) * cols + j] ?? 0) >= (length[i * cols + j + 1] ?? 0)) i++;
    else j++;
  }
  return pairs;
}

/** `@@ -start,count +start,count @@` as diff writes it: a count of 1 left out, an empty side at the line before. */
function range(start: number, count: number): string {
  if (count === 1) return String(start + 1);
  return `${count === 0 ? start : start + 1},${count}`;
}

/** The hunks that turn `base` into `target`. */
export function lineDiff(base: string, target: string): string {
  const a = base.split("\n");
  const b = target.split("\n");
  const out: string[] = [];
  let i = 0;
  let j = 0;
  for (const [ai, bj] of [...commonLines(a, b), [a.length, b.length] as [number, number]]) {
    if (ai > i || bj > j) {
      out.push(`@@ -${range(i, ai - i)} +${range(j, bj - j)} @@`);
      out.push(...a.slice(i, ai).map((l) => `-${l}`), ...b.slice(j, bj).map((l) => `+${l}`));
    }
    i = ai + 1;
    j = bj + 1;
  }
  return out.map((l) => `${l}\n`).join("");
}

/** `base` with the hunks of `diff` applied; throws where a hunk's removed lines are not in `base`. */
export function applyDiff(base: string, diff: string): string {
  const a = base.split("\n");
  const lines = diff.split("\n").slice(0, -1);
  const out: string[] = [];
  let next = 0;
  let k = 0;
  while (k < lines.length) {
    const hunk = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(lines[k] ?? "");
    const count = hunk?.[2] === undefined ? 1 : Number(hunk[2]);
    const start = count === 0 ? Number(hunk?.[1]) : Number(hunk?.[1]) - 1;
    if (hunk === null || start < next) throw new Error(`golden diff: line ${k + 1} is not a hunk in order`);
    out.push(...a.slice(next, start));
    next = start;
    for (k++; lines[k]?.startsWith("-") === true; k++, next++)
      if (a[next] !== lines[k]?.slice(1))
        throw new Error(`golden diff: line ${next + 1} of its base is not ${JSON.stringify(lines[k])}`);
    if (next - start !== count)
      throw new Error(`golden diff: hunk ${lines[k]} removes ${next - start} lines`);
    for (; lines[k]?.startsWith("+") === true; k++) out.push(lines[k]?.slice(1) ?? "");
  }
  out.push(...a.slice(next));
  return out.join("\n");
}
