import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * `ip monitor` only as a trigger: its text output has no JSON form, so every line just says
 * "something changed" and the daemon re-reads the host with `ip -j`.
 */
export class LinkMonitor {
  private child: ChildProcess | null = null;
  private stopped = false;
  private readonly onChange: (line: string) => void;
  private readonly onExit: (why: string) => void;

  constructor(onChange: (line: string) => void, onExit: (why: string) => void) {
    this.onChange = onChange;
    this.onExit = onExit;
  }

  start(): void {
    this.stopped = false;
    const child = spawn("ip", ["monitor", "address", "route", "link"], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      this.onChange(line);
    });
    child.on("error", (err) => {
      if (!this.stopped) this.onExit(`ip monitor failed: ${err.message}`);
    });
    child.on("exit", (code, signal) => {
      if (!this.stopped) this.onExit(`ip monitor exited (${signal ?? String(code)})`);
    });
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill("SIGTERM");
    this.child = null;
  }
}
