import { spawn } from "node:child_process";
import { HostError } from "./errors.ts";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** The single seam through which mapectl runs programs: argv arrays only, never a shell. */
export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export const processRunner: CommandRunner = {
  run(argv, options = {}) {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new Error("empty argv"));
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, LC_ALL: "C" },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, options.timeoutMs ?? 30_000);
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          e.code === "ENOENT"
            ? new HostError(
                "TOOL_MISSING",
                `${file} is not installed (or not on PATH); install ${packageOf(file)}`,
              )
            : e,
        );
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(
            new HostError(
              "COMMAND_FAILED",
              `${argv.join(" ")} did not finish in ${options.timeoutMs ?? 30_000} ms`,
            ),
          );
          return;
        }
        resolve({
          code: code ?? 1,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        });
      });
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input ?? "");
    });
  },
};

const PACKAGES: Record<string, string> = {
  ip: "iproute2",
  nft: "nftables",
  conntrack: "conntrack",
  tcpdump: "tcpdump",
  sysctl: "procps",
};

export function packageOf(tool: string): string {
  return PACKAGES[tool] ?? tool;
}

/** Runs a command and returns stdout, or throws COMMAND_FAILED with the command's own message. */
export async function runChecked(
  runner: CommandRunner,
  argv: readonly string[],
  options?: RunOptions,
): Promise<string> {
  const result = await runner.run(argv, options);
  if (result.code !== 0) {
    const why = result.stderr.trim().split("\n")[0] ?? `exit status ${result.code}`;
    throw new HostError(
      "COMMAND_FAILED",
      `${argv.join(" ")}: ${why === "" ? `exit status ${result.code}` : why}`,
    );
  }
  return result.stdout;
}
