// Runs the test suites with node's test runner and prints one closing line
// "tests: N passed, N failed, N skipped" that covers all of them.
//   node scripts/run-tests.mjs unit|host|lab|all [file filter]
// Unit tests run in parallel; lab tests boot a VM each and run one file at a time.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const which = process.argv[2] ?? "all";
const filter = process.argv[3];

function find(dir) {
  let out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

// unit: pure code and the CLI, anywhere. host: real tools in network namespaces on this machine
// (root). lab: a real Debian kernel under QEMU (root).
const suites = {
  unit: { files: [...find("test/unit"), ...find("test/cli")], concurrency: 2 },
  host: { files: find("test/host"), concurrency: 1 },
  lab: { files: find("test/lab"), concurrency: 1 },
};
const chosen = which === "all" ? ["unit", "host", "lab"] : [which];
const totals = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
const dir = mkdtempSync(join(tmpdir(), "mapectl-tests-"));

for (const name of chosen) {
  const suite = suites[name];
  if (suite === undefined) {
    console.error(`run-tests: unknown suite "${name}" (unit, host, lab or all)`);
    process.exit(2);
  }
  const files = filter === undefined ? suite.files : suite.files.filter((f) => f.includes(filter));
  if (files.length === 0) continue;
  const tap = join(dir, `${name}.tap`);
  console.log(`\n== ${name} tests (${files.length} files) ==`);
  const result = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--test",
      `--test-concurrency=${suite.concurrency}`,
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { stdio: "inherit" },
  );
  let text = "";
  try {
    text = readFileSync(tap, "utf8");
  } catch {
    totals.fail += 1;
  }
  for (const key of Object.keys(totals)) {
    const match = new RegExp(`^# ${key} (\\d+)$`, "m").exec(text);
    if (match) totals[key] += Number(match[1]);
  }
  if (result.status !== 0 && !/^# fail [1-9]/m.test(text)) totals.fail += 1;
}

console.log(
  `\ntests: ${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped + totals.todo} skipped`,
);
process.exit(totals.fail + totals.cancelled > 0 || totals.pass === 0 ? 1 : 0);
