import type { RouterSystem } from "./router-system.ts";

const DROP_IN = "/etc/systemd/system/mapectl.service.d/lab-trace.conf";

/**
 * MAPECTL_LAB_TRACE=1: the reboot proof runs the daemon with `watch --trace` and prints where the
 * time from network-online to the first packet went. Off by default, so the figure the check
 * reports is the unit exactly as the package installs it.
 */
export function tracingRequested(): boolean {
  return process.env.MAPECTL_LAB_TRACE === "1";
}

/** Adds --trace to the installed unit's ExecStart for the boots that follow (a drop-in). */
export async function traceDaemon(router: RouterSystem): Promise<void> {
  const unit = await router.run(["systemctl", "cat", "mapectl.service"]);
  const exec = /^ExecStart=(\S.*)$/m.exec(unit)?.[1];
  if (exec === undefined) throw new Error("the installed unit has no ExecStart");
  await router.run(["mkdir", "-p", DROP_IN.replace(/\/[^/]+$/, "")]);
  await router.run(["tee", DROP_IN], { input: `[Service]\nExecStart=\nExecStart=${exec} --trace\n` });
  await router.run(["systemctl", "daemon-reload"]);
}

/** Takes the drop-in away again (the daemon keeps running as it is until its next start). */
export async function untraceDaemon(router: RouterSystem): Promise<void> {
  await router.run(["rm", "-f", DROP_IN]);
  await router.run(["systemctl", "daemon-reload"]);
}

/**
 * This boot's journal lines of the daemon, of systemd-networkd's prefix and of the targets and units
 * the daemon's start may wait for (systemd-analyze critical-chain does not answer inside the
 * container), with their time in seconds from network-online.target (negative: before it).
 */
export async function timelineFromOnline(router: RouterSystem): Promise<string> {
  const show = await router.run([
    "systemctl",
    "show",
    "-p",
    "ActiveEnterTimestampMonotonic",
    "network-online.target",
  ]);
  const online = Number(/=(\d+)/.exec(show)?.[1] ?? "0") / 1e6;
  const r = await router.exec(
    [
      "journalctl",
      "-b",
      "0",
      "-o",
      "json",
      "--no-pager",
      "-u",
      "mapectl",
      "-u",
      "systemd-networkd",
      "-u",
      "network-online.target",
      "-u",
      "network.target",
      "-u",
      "sysinit.target",
      "-u",
      "basic.target",
      "-u",
      "nftables.service",
    ],
    { timeoutMs: 60_000 },
  );
  const lines: string[] = [];
  for (const text of r.stdout.split("\n")) {
    if (text.trim() === "") continue;
    const entry = JSON.parse(text) as {
      __MONOTONIC_TIMESTAMP?: string;
      MESSAGE?: unknown;
      _SYSTEMD_UNIT?: string;
      UNIT?: string;
    };
    if (typeof entry.MESSAGE !== "string") continue;
    const networkd = entry._SYSTEMD_UNIT === "systemd-networkd.service";
    if (networkd && !/DHCP|prefix|[Ss]tarted|online/i.test(entry.MESSAGE)) continue;
    const t = Number(entry.__MONOTONIC_TIMESTAMP ?? "0") / 1e6 - online;
    lines.push(
      `${t >= 0 ? "+" : ""}${t.toFixed(3)} s ${networkd ? "networkd" : (entry.UNIT ?? "mapectl")}: ${entry.MESSAGE}`,
    );
  }
  return lines.join("\n");
}
