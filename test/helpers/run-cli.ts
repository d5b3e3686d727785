import { spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `mapectl install` refuses to point its unit at an executable the unit's sandbox hides (PrivateTmp:
 * /tmp, /var/tmp; ProtectHome: /home, /root, /run/user), as a user's router must. A checkout can
 * live there (a CI clone under /tmp), so the tests run a copy of the build from /run instead, where
 * an installed mapectl could be; the refusal itself is tested with a copy made under /tmp on purpose.
 */
const HIDDEN = ["/tmp", "/var/tmp", "/home", "/root", "/run/user"];
const copies: string[] = [];
process.on("exit", () => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** The file itself, or (root, under a hidden directory) a copy of it under /run, removed at exit. */
export function visible(file: string, withSiblings: boolean): string {
  if (!HIDDEN.some((d) => file.startsWith(`${d}/`)) || !existsSync(file)) return file;
  try {
    accessSync("/run", constants.W_OK);
  } catch {
    return file; // not root: install's own tests need root's /run; the rest run the build in place
  }
  const dir = mkdtempSync("/run/mapectl-test-cli-");
  chmodSync(dir, 0o755); // some tests run the CLI as an unprivileged user
  copies.push(dir);
  if (withSiblings) cpSync(dirname(file), dir, { recursive: true });
  else cpSync(file, join(dir, basename(file)));
  return join(dir, basename(file));
}

/** The bundled CLI that users run; `npm test` builds it before the tests. */
export const CLI = visible(fileURLToPath(new URL("../../dist/mapectl.cjs", import.meta.url)), true);

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let testBinCopy: string | undefined | null = null;
function testBin(): string | undefined {
  if (testBinCopy === null) {
    const given = process.env.MAPECTL_TEST_BIN;
    testBinCopy = given === undefined ? undefined : visible(given, false);
  }
  return testBinCopy;
}

export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): CliResult {
  // MAPECTL_TEST_BIN runs the same tests against another build of the CLI (the single executable).
  const bin = testBin();
  if (bin === undefined && !existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const [file, argv] = bin === undefined ? [process.execPath, [CLI, ...args]] : [bin, [...args]];
  const result = spawnSync(file, argv, {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    input: options.input,
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** One line on stderr, naming the problem, and no stack trace. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0]?.startsWith("mapectl: ") === true && !/\n\s+at /.test(stderr);
}
