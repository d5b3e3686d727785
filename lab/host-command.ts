import { spawn, spawnSync } from "node:child_process";

export interface HostCommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one argv on the host (never through a shell) and fails with its stderr when it fails. */
export function runHost(
  argv: readonly string[],
  options: { cwd?: string; input?: Buffer | string; allowFailure?: boolean } = {},
): HostCommandResult {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error("runHost: empty argv");
  const result = spawnSync(file, args, {
    cwd: options.cwd,
    input: options.input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) throw new Error(`${file}: ${result.error.message}`);
  const out = { code: result.status ?? 128, stdout: result.stdout, stderr: result.stderr };
  if (out.code !== 0 && options.allowFailure !== true) {
    throw new Error(`${argv.join(" ")} exited with ${out.code}: ${out.stderr.trim().slice(0, 500)}`);
  }
  return out;
}

/** Like runHost, but feeds a large binary input and returns stdout as bytes (decompressors). */
export function runHostBytes(
  argv: readonly string[],
  input: Buffer,
): Promise<{ code: number; stdout: Buffer }> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("runHostBytes: empty argv"));
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "ignore"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", rejectRun);
    // A decompressor stops reading at the end of its stream; the rest of the input is not an error.
    child.stdin.on("error", () => undefined);
    child.on("close", (code) => {
      resolveRun({ code: code ?? 128, stdout: Buffer.concat(chunks) });
    });
    child.stdin.end(input);
  });
}
