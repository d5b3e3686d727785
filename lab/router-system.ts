import { join } from "node:path";
import { CE, GUEST, LAN, NGN, NS } from "./addresses.ts";
import type { ExecOptions, ExecResult } from "./guest.ts";
import type { Lab } from "./lab.ts";
import type { RouterImage } from "./router-image.ts";
import { logFile } from "./topology.ts";
import { waitFor } from "./wait.ts";

/** One boot of the router system as router-machine.sh recorded it (guest realtime, seconds). */
export interface RouterBoot {
  readonly n: number;
  readonly start: number;
  readonly exit?: { readonly code: number; readonly at: number };
}

const DIR = join(GUEST.runDir, "router-machine");

function batch(lines: readonly string[]): string {
  return lines.join("\n") + "\n";
}

/** The wiring of a freshly powered-on router: the same links, MAC and LAN client as the lab's CE. */
function wiring(): Record<string, string> {
  return {
    "unplug.batch": batch([`link del ${CE.wan}`, `link del ${LAN.ceIface}`]),
    // Both ports start in the guest's own namespace; nspawn moves them into the machine's.
    "plug.batch": batch([
      `link add ${LAN.clientIface} netns ${NS.lan} type veth peer name ${LAN.ceIface}`,
      `link add ${CE.wan} address ${CE.wanMac} type veth peer name ${NGN.cePort} netns ${NS.ngn}`,
    ]),
    "move.batch": batch([`link set ${CE.wan} netns ${NS.ce}`, `link set ${LAN.ceIface} netns ${NS.ce}`]),
    "lan.batch": batch([
      `link set ${LAN.clientIface} up`,
      `addr add ${LAN.client}/${LAN.prefixLength} dev ${LAN.clientIface}`,
      `route add 0.0.0.0/0 via ${LAN.gateway}`,
    ]),
    "ngn.batch": batch([`link set ${NGN.cePort} master ${NGN.bridge}`, `link set ${NGN.cePort} up`]),
  };
}

/**
 * The CE as a real router system: the cached Debian image booted by systemd-nspawn with systemd as
 * its PID 1, in the ce namespace (the lab's checks from lan, ngn, br and inet stay as they are).
 * Commands run inside it through nsenter, as on its console; a reboot is systemd's own.
 */
export class RouterSystem {
  readonly lab: Lab;
  readonly image: RouterImage;
  private readonly inRouter: string;

  constructor(lab: Lab, image: RouterImage) {
    this.lab = lab;
    this.image = image;
    this.inRouter = join(lab.repo, "lab", "guest", "in-router.sh");
  }

  /** Powers the machine on (its first boot) and returns once systemd says the boot is done. */
  async powerOn(timeoutMs = 180_000): Promise<void> {
    const { guest } = this.lab;
    await Promise.all(Object.entries(wiring()).map(([name, text]) => guest.writeFile(join(DIR, name), text)));
    await guest.writeFile(join(DIR, "boots"), "");
    await guest.start(
      null,
      "router-machine",
      ["sh", join(this.lab.repo, "lab", "guest", "router-machine.sh"), this.image.root, DIR],
      logFile("router-machine"),
    );
    await this.waitBooted(1, timeoutMs);
  }

  /** Runs argv inside the router system. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.lab.exec(null, ["sh", this.inRouter, ...argv], options);
  }

  /** exec that must succeed; returns stdout. */
  async run(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const r = await this.exec(argv, options);
    if (r.code !== 0) {
      throw new Error(`router: ${argv.join(" ")} exited with ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    }
    return r.stdout;
  }

  /** The boots router-machine.sh recorded so far. */
  async boots(): Promise<RouterBoot[]> {
    const text = await this.lab.guest.readText(join(DIR, "boots"));
    const boots = new Map<number, RouterBoot>();
    for (const line of text.split("\n")) {
      const start = /^boot (\d+) start ([\d.]+)$/.exec(line);
      if (start !== null) boots.set(Number(start[1]), { n: Number(start[1]), start: Number(start[2]) });
      const exit = /^boot (\d+) exit (\d+) ([\d.]+)$/.exec(line);
      const known = exit === null ? undefined : boots.get(Number(exit[1]));
      if (exit !== null && known !== undefined)
        boots.set(known.n, { ...known, exit: { code: Number(exit[2]), at: Number(exit[3]) } });
    }
    return [...boots.values()];
  }

  /** Waits for boot number n to reach the end of its start-up (running, or degraded with a failed unit). */
  async waitBooted(n: number, timeoutMs: number): Promise<void> {
    await waitFor(
      `the router system's boot ${n} to finish`,
      timeoutMs,
      async () => {
        const boots = await this.boots();
        const current = boots[boots.length - 1];
        // Exit 133 is a reboot: the next boot starts in a moment.
        if (current?.exit !== undefined && (current.exit.code !== 133 || current.n >= n))
          throw new Error(
            `the router system stopped (exit ${current.exit.code}): ${await this.consoleTail()}`,
          );
        if (current?.n !== n) return null;
        const r = await this.exec(["systemctl", "is-system-running"]);
        return ["running", "degraded"].includes(r.stdout.trim()) ? true : null;
      },
      1000,
    );
  }

  /** `systemctl reboot` inside, then waits for the next boot to finish. */
  async reboot(timeoutMs = 180_000): Promise<void> {
    const before = (await this.boots()).length;
    await this.exec(["systemctl", "reboot"]);
    await this.waitBooted(before + 1, timeoutMs);
  }

  /** Realtime (guest clock, seconds) at which a unit last became active in this boot, or null. */
  async activeSince(unit: string): Promise<number | null> {
    const out = await this.run(["systemctl", "show", "-p", "ActiveEnterTimestampMonotonic", unit]);
    const mono = Number(/=(\d+)/.exec(out)?.[1] ?? "0");
    if (mono === 0) return null;
    // Container and guest share CLOCK_MONOTONIC; turn it into realtime with one reading of both.
    const clocks = await this.lab.run(null, ["sh", "-c", "date +%s.%N; cat /proc/uptime"]);
    const [real = "0", uptime = "0"] = clocks.trim().split(/\s+/);
    return Number(real) - Number(uptime) + mono / 1e6;
  }

  async consoleTail(lines = 30): Promise<string> {
    const text = await this.lab.log("router-machine").catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }

  /** Powers the machine off (systemctl poweroff) and waits until it is off. */
  async powerOff(timeoutMs = 60_000): Promise<void> {
    await this.exec(["systemctl", "poweroff"]);
    await waitFor("the router system to power off", timeoutMs, async () => {
      const last = (await this.boots()).at(-1);
      return last?.exit === undefined ? null : true;
    });
  }
}
