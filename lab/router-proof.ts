import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { INET, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import type { RouterSystem } from "./router-system.ts";
import type { Checks } from "./scenarios/scenario.ts";
import { pingFromLan } from "./scenarios/probes.ts";
import { waitFor } from "./wait.ts";

/** The amd64 package `npm run build:deb` wrote for this checkout's version. */
export function debPath(repo: string): string {
  const version = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string })
    .version;
  const deb = join(repo, "dist", `mapectl_${version}_amd64.deb`);
  if (!existsSync(deb)) throw new Error(`${deb} is missing: run npm run build:deb first`);
  return deb;
}

/** Puts the .deb on the router's disk, as scp would: the router system has no view of the lab's files. */
export async function copyDeb(lab: Lab, router: RouterSystem): Promise<string> {
  const deb = debPath(lab.repo);
  await lab.run(null, ["cp", deb, join(router.image.root, "root", basename(deb))]);
  return `/root/${basename(deb)}`;
}

/** `apt install ./mapectl_<version>_amd64.deb` in /root, as a user does (also the upgrade: the same file again). */
export function aptInstall(
  router: RouterSystem,
  deb: string,
  reinstall = false,
): ReturnType<RouterSystem["exec"]> {
  return router.exec(
    [
      "env",
      "DEBIAN_FRONTEND=noninteractive",
      "apt-get",
      "install",
      "-y",
      "--no-install-recommends",
      ...(reinstall ? ["--reinstall"] : []),
      deb,
    ],
    { timeoutMs: 180_000 },
  );
}

/** Polls a ping from lan until one gets through; returns the seconds it took, or null at the deadline. */
export async function waitForIpv4(lab: Lab, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  try {
    await waitFor(
      "IPv4 from the LAN through the BR",
      timeoutMs,
      async () => {
        const r = await lab.exec(NS.lan, ["ping", "-n", "-c", "1", "-W", "1", INET.hosts[0]], {
          timeoutMs: 10_000,
        });
        return r.code === 0 ? true : null;
      },
      500,
    );
    return (Date.now() - started) / 1000;
  } catch {
    return null;
  }
}

/** The daemon's journal lines of this boot: [priority, message]. */
export async function daemonJournal(router: RouterSystem, boot = "0"): Promise<[number, string][]> {
  const r = await router.exec(["journalctl", "-b", boot, "-u", "mapectl", "-o", "json", "--no-pager"], {
    timeoutMs: 60_000,
  });
  const lines: [number, string][] = [];
  for (const text of r.stdout.split("\n")) {
    if (text.trim() === "") continue;
    const entry = JSON.parse(text) as { PRIORITY?: string; MESSAGE?: unknown; _COMM?: string };
    if (entry._COMM === "systemd" || typeof entry.MESSAGE !== "string") continue;
    lines.push([Number(entry.PRIORITY ?? "-1"), entry.MESSAGE]);
  }
  return lines;
}

/** The exposure `systemd-analyze security mapectl` gives (0 safest, 10 unsafe). */
export async function exposure(router: RouterSystem): Promise<{ score: number; text: string }> {
  const r = await router.exec(["systemd-analyze", "security", "--no-pager", "mapectl.service"], {
    timeoutMs: 60_000,
  });
  const match = /Overall exposure level for mapectl\.service:\s*([\d.]+)\s*(\S+)/.exec(r.stdout);
  return { score: match === null ? Number.NaN : Number(match[1]), text: match?.[0] ?? r.stderr.trim() };
}

/** From a fresh router system: the package installed by apt, mapectl install, the unit enabled and started. */
export async function installAndEnable(lab: Lab, router: RouterSystem, checks: Checks): Promise<boolean> {
  const node = await router.exec(["sh", "-c", "command -v node nodejs || ls /usr/lib/node_modules"]);
  checks.add(
    "no Node on the router",
    node.code !== 0,
    node.stdout.trim() || "no node, nodejs or node_modules",
  );
  const deb = await copyDeb(lab, router);
  const apt = await aptInstall(router, deb);
  if (!checks.add("apt install ./mapectl.deb", apt.code === 0, lastLine(apt.stdout, apt.stderr)))
    return false;
  const version = await router.exec(["mapectl", "--version"]);
  checks.add("the single executable runs", version.code === 0, lastLine(version.stdout, version.stderr));
  const install = await router.exec(["mapectl", "install", "--wan", "wan0", "--lan", "lan0"]);
  if (!checks.add("mapectl install", install.code === 0, lastLine(install.stdout, install.stderr)))
    return false;
  const enable = await router.exec(["systemctl", "enable", "--now", "mapectl"], { timeoutMs: 120_000 });
  if (
    !checks.add("systemctl enable --now mapectl", enable.code === 0, lastLine(enable.stdout, enable.stderr))
  )
    return false;
  const seconds = await waitForIpv4(lab, 120_000);
  // The LAN pinged all along: what the BRs dropped meanwhile happened while the daemon converged.
  const converging = await lab.isp.brDrops();
  await lab.isp.resetCounters();
  // Strict: the default route comes after the NAT table, so no packet can reach the BR untranslated.
  checks.add(
    "IPv4 from the LAN through the strict BR",
    seconds !== null && converging.length === 0,
    seconds === null
      ? "no ping got through in 120 s"
      : `first ping through after ${seconds.toFixed(1)} s; BR drops while converging: ${converging.join(" ") || "none"}`,
  );
  return seconds !== null;
}

/** The running daemon as systemd and its tools see it: healthy, its journal lines, its exposure. */
export async function unitHealth(lab: Lab, router: RouterSystem, checks: Checks): Promise<number> {
  const ping = await pingFromLan(lab);
  checks.add("ping 8.8.8.8 from the LAN", ping.ok, ping.detail);
  const own = await router.exec(["ping", "-n", "-c", "2", "-W", "3", INET.hosts[2]], { timeoutMs: 20_000 });
  checks.add("the router's own ping", own.code === 0, lastLine(own.stdout, own.stderr));
  const status = await router.exec(["systemctl", "status", "--no-pager", "mapectl"]);
  const active = /Active: active \(running\)/.test(status.stdout);
  checks.add(
    "systemctl status mapectl",
    status.code === 0 && active,
    /Active: .*/.exec(status.stdout)?.[0] ?? lastLine(status.stdout, status.stderr),
  );
  const journal = await daemonJournal(router);
  const priorities = [...new Set(journal.map(([p]) => p))].sort();
  checks.add(
    "the journal has the daemon's lines with priorities",
    journal.length > 0 && journal.every(([p]) => p >= 0 && p <= 7),
    `${journal.length} lines, priorities ${priorities.join(",")}; first: ${journal[0]?.[1] ?? "none"}`,
  );
  const score = await exposure(router);
  checks.add("systemd-analyze security mapectl ≤ 3.0", score.score <= 3.0, score.text);
  const drops = await lab.isp.brDrops();
  checks.add("no BR drop", drops.length === 0, drops.length === 0 ? "none" : drops.join(" "));
  return score.score;
}

export function lastLine(...texts: string[]): string {
  const lines = texts
    .join("\n")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return lines[lines.length - 1] ?? "(no output)";
}
