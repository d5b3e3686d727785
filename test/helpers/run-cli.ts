import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The bundled CLI that users run; `npm test` builds it before the tests. */
export const CLI = fileURLToPath(new URL("../../dist/mapectl.cjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): CliResult {
  // MAPECTL_TEST_BIN runs the same tests against another build of the CLI (the single executable).
  const bin = process.env.MAPECTL_TEST_BIN;
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
