import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

// Absolute, so a test can run a command with a PATH that hides every tool.
const IP = existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : "ip";

/** A network namespace of the test's own, removed with everything in it by destroy(). */
export class Netns {
  readonly name: string;

  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    execFileSync(IP, ["netns", "add", this.name]);
    this.run(["ip", "link", "set", "lo", "up"]);
  }

  run(
    argv: readonly string[],
    input?: string,
    env?: NodeJS.ProcessEnv,
  ): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(IP, ["netns", "exec", this.name, ...argv], {
      encoding: "utf8",
      input,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  ok(argv: readonly string[], input?: string): string {
    const r = this.run(argv, input);
    if (r.code !== 0) throw new Error(`${argv.join(" ")} failed in ${this.name}: ${r.stderr}`);
    return r.stdout;
  }

  /** Everything `up` might touch, minus counters and timers, for before/after comparison. */
  snapshot(): string {
    const strip = (text: string) =>
      JSON.stringify(JSON.parse(text === "" ? "[]" : text), (key: string, value: unknown) =>
        ["stats64", "valid_life_time", "preferred_life_time", "expires", "handle"].includes(key)
          ? undefined
          : value,
      );
    return [
      strip(this.ok(["ip", "-j", "link", "show"])),
      strip(this.ok(["ip", "-j", "addr", "show"])),
      strip(this.ok(["ip", "-j", "-4", "route", "show", "table", "all"])),
      strip(this.ok(["ip", "-j", "-6", "route", "show", "table", "all"])),
      strip(this.ok(["nft", "-j", "list", "ruleset"])),
      this.ok(["sysctl", "-n", "net.ipv4.ip_forward"]).trim(),
    ].join("\n");
  }

  /**
   * Waits until no address is tentative: the kernel runs duplicate address detection on the
   * link-local addresses of links just brought up, and a snapshot taken meanwhile differs from
   * every later one.
   */
  waitForDad(timeoutMs = 10_000): void {
    const deadline = Date.now() + timeoutMs;
    while (this.ok(["ip", "-6", "addr", "show", "tentative"]).trim() !== "" && Date.now() < deadline) {
      this.ok(["sleep", "0.2"]);
    }
  }

  destroy(): void {
    spawnSync(IP, ["netns", "del", this.name]);
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * The commands that make a namespace a router of the user line: a WAN (wan0) facing the NGN's
 * link-local default router, the delegated /56 as a DHCPv6-PD client leaves it, and a LAN (lan0).
 */
export const ROUTER_SETUP: readonly string[] = [
  "ip link add wan0 type veth peer name ngn0",
  "ip link add lan0 type veth peer name lanpeer",
  "ip link set wan0 up",
  "ip link set ngn0 up",
  "ip link set lan0 up",
  "ip -6 addr add fe80::1/64 dev ngn0 nodad",
  "ip -6 route add default via fe80::1 dev wan0",
  "ip -6 route add unreachable 2404:7a82:4d02:4100::/56",
  "ip addr add 192.168.1.1/24 dev lan0",
];

/** A namespace with ROUTER_SETUP and then `extra` run in it (space-separated words, no quoting). */
export function routerNetns(prefix: string, extra: readonly string[] = []): Netns {
  const ns = new Netns(prefix);
  for (const cmd of [...ROUTER_SETUP, ...extra]) ns.ok(cmd.split(" "));
  return ns;
}
