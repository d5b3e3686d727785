import type { AgentClient, AgentReply } from "./agent-client.ts";
import type { NamespaceName } from "./addresses.ts";

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly signal: string | null;
}

export interface ExecOptions {
  /** Killed (SIGKILL) after this; default 60 s. */
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
}

/** `null` runs in the guest's initial namespace (where the namespaces are made). */
export type Namespace = NamespaceName | null;

/** The guest as the host drives it: argv arrays in a namespace, files, daemons. */
export class Guest {
  private readonly agent: AgentClient;

  constructor(agent: AgentClient) {
    this.agent = agent;
  }

  async exec(ns: Namespace, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const reply = await this.agent.request(
      { op: "exec", ns, argv, timeoutMs, input: options.input, env: options.env },
      timeoutMs + 15_000,
    );
    return {
      code: Number(reply.code),
      stdout: typeof reply.stdout === "string" ? reply.stdout : "",
      stderr: typeof reply.stderr === "string" ? reply.stderr : "",
      timedOut: reply.timedOut === true,
      signal: typeof reply.signal === "string" ? reply.signal : null,
    };
  }

  /** exec that must succeed: a failure throws with the command and its stderr. */
  async run(ns: Namespace, argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(ns, argv, options);
    if (result.code !== 0 || result.timedOut) {
      const where = ns === null ? "guest" : `netns ${ns}`;
      const why = result.timedOut ? "timed out" : `exited with ${result.code}`;
      throw new Error(
        `${where}: ${argv.join(" ")} ${why}: ${(result.stderr || result.stdout).trim().slice(0, 800)}`,
      );
    }
    return result.stdout;
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const data = typeof content === "string" ? Buffer.from(content) : content;
    await this.agent.request(
      { op: "write-file", path, content: data.toString("base64"), encoding: "base64", mode },
      30_000,
    );
  }

  async readFile(path: string): Promise<Buffer> {
    const reply = await this.agent.request({ op: "read-file", path }, 30_000);
    return Buffer.from(String(reply.content), "base64");
  }

  /** Reads a file that may not exist yet; missing means empty. */
  async readText(path: string): Promise<string> {
    try {
      return (await this.readFile(path)).toString("utf8");
    } catch (err) {
      if ((err as Error).message.includes("ENOENT")) return "";
      throw err;
    }
  }

  /** Starts a long-running process (stdout and stderr to `log`); returns its pid. */
  async start(
    ns: Namespace,
    name: string,
    argv: readonly string[],
    log: string,
    env?: Record<string, string>,
  ): Promise<number> {
    const reply: AgentReply = await this.agent.request({ op: "start", ns, name, argv, log, env }, 30_000);
    if (typeof reply.pid !== "number") throw new Error(`cannot start ${name}: ${String(reply.error)}`);
    return reply.pid;
  }

  /** Stops a process from start(): SIGTERM, then SIGKILL after graceMs. */
  async stop(pid: number, graceMs = 3000): Promise<void> {
    await this.agent.request({ op: "stop", pid, graceMs }, graceMs + 10_000);
  }

  async daemons(): Promise<{ pid: number; name: string; exit: unknown }[]> {
    const reply = await this.agent.request({ op: "daemons" }, 10_000);
    return reply.daemons as { pid: number; name: string; exit: unknown }[];
  }
}
