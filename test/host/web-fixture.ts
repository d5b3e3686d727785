import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import type { Netns } from "../helpers/netns.ts";
import { CLI } from "../helpers/run-cli.ts";
import { USER_PREFIX, planFor } from "../helpers/plans.ts";
import { renderNftables } from "../../src/render/nftables.ts";
import type { MapePlan } from "../../src/plan/plan.ts";

const IP = existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : "ip";
export const CHROMIUM = "/usr/bin/chromium";

/** What the user's line must show (README, calc tests). */
export const USER = {
  prefix: USER_PREFIX,
  ipv4: "133.209.13.2",
  psid: 65,
  ce: "2404:7a82:4d02:4100:85:d10d:200:4100",
  br: "2001:260:700:1::1:275",
  blocks: Array.from({ length: 15 }, (_, i) => [(i + 1) * 4096 + 65 * 16, (i + 1) * 4096 + 65 * 16 + 15]),
};

export interface Fabricated {
  readonly plan: MapePlan;
  readonly nftScript: string;
  readonly env: Record<string, string>;
}

/**
 * The state `mapectl up` leaves, from a real plan and its real nft script, plus two daemon events:
 * this machine's kernel has no ip6tnl, so up itself cannot run here (the lab tests it under QEMU).
 */
export function fabricateState(dir: string): Fabricated {
  const plan = planFor(USER_PREFIX);
  const nftScript = renderNftables(plan);
  mkdirSync(join(dir, "state"), { recursive: true });
  mkdirSync(join(dir, "run"), { recursive: true });
  writeFileSync(
    join(dir, "state", "state.json"),
    JSON.stringify({
      schemaVersion: 1,
      appliedAt: "2026-01-01T09:00:00.000Z",
      plan,
      nftScript,
      replacedDefaults: [],
      enabledForwarding: true,
    }),
  );
  writeFileSync(
    join(dir, "run", "events.json"),
    JSON.stringify([
      {
        at: "2026-01-01T09:00:00.000Z",
        level: "info",
        message: "applied: 133.209.13.2 PSID 65 through mape",
      },
      {
        at: "2026-01-01T09:30:00.000Z",
        level: "warning",
        message: "NAT ports 80% used: 192.168.1.10 has the most flows",
      },
    ]),
  );
  return {
    plan,
    nftScript,
    env: {
      MAPECTL_STATE_DIR: join(dir, "state"),
      MAPECTL_RUN_DIR: join(dir, "run"),
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    },
  };
}

export interface Running {
  readonly child: ChildProcess;
  /** The first stdout line that matched `ready`. */
  readonly match: RegExpMatchArray;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit status. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built CLI inside the namespace and waits for a line of stdout matching `ready`. */
export function startCli(
  ns: Netns,
  args: readonly string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 20_000,
): Promise<Running> {
  // `ip netns exec` execs the command, so signals reach mapectl itself
  const child = spawn(IP, ["netns", "exec", ns.name, process.execPath, CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      resolve(code);
    });
  });
  const running = (match: RegExpMatchArray): Running => ({
    child,
    match,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `mapectl ${args.join(" ")} did not print ${String(ready)} in ${timeoutMs} ms: ${out}${err}`,
        ),
      );
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      const match = ready.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(running(match));
      }
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`mapectl ${args.join(" ")} ended (${String(code)}) before ${String(ready)}: ${out}${err}`),
      );
    });
  });
}

/**
 * Debian's Chromium, run inside the namespace (where serve listens on its loopback) through a
 * two-line wrapper; playwright-core drives it over a pipe, which `ip netns exec` passes through.
 */
export async function chromiumIn(ns: Netns, dir: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  const wrapper = join(dir, "chromium-in-netns");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${IP} netns exec ${ns.name} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const profile = join(dir, "chromium-profile");
  mkdirSync(profile, { recursive: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // no name lookups at all: every flow in the namespace's conntrack is the test's own
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}
