import { INET, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import { aptInstall, copyDeb, daemonJournal, lastLine, waitForIpv4 } from "./router-proof.ts";
import { judgeSwitch, watchBrs } from "./router-br-watch.ts";
import type { RouterSystem } from "./router-system.ts";
import { timelineFromOnline, traceDaemon, tracingRequested, untraceDaemon } from "./router-trace.ts";
import type { Checks } from "./scenarios/scenario.ts";

/** What the reboot proof measured (seconds, guest clock). */
export interface RebootFigures {
  /** From the machine's power-on to the first echo request inet saw from the LAN. */
  bootToFirstPacket: number | null;
  /** From network-online.target to that packet: what the daemon adds to the boot. */
  onlineToFirstPacket: number | null;
  /** From the power-on to the end of the router system's start-up (systemd running). */
  bootToRunning: number;
}

/** Pings from the LAN in rounds while `action` runs and for `tailSeconds` after it: how many got answered. */
export async function pingDuring(
  lab: Lab,
  action: () => Promise<unknown>,
  tailSeconds: number,
): Promise<{ sent: number; received: number }> {
  const state = { done: false, doneAt: 0 };
  const running = action().finally(() => {
    state.done = true;
    state.doneAt = Date.now();
  });
  const totals = { sent: 0, received: 0 };
  while (!state.done || Date.now() - state.doneAt < tailSeconds * 1000) {
    const r = await lab.exec(NS.lan, ["ping", "-n", "-c", "8", "-i", "0.25", "-W", "2", INET.hosts[0]], {
      timeoutMs: 30_000,
    });
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    totals.sent += Number(m?.[1] ?? 8);
    totals.received += Number(m?.[2] ?? 0);
  }
  await running;
  return totals;
}

/**
 * The LAN pings in a loop that survives the router's reboot (its cable is replaced), so inet records
 * the first one through. A request every 0.1 s whether or not the last was answered, as a house's
 * devices keep sending: one ping at a time, each waiting up to 1 s for its reply, added up to 1.2 s
 * of the pinger's own to the time to the first packet.
 */
export async function startLanPinger(lab: Lab): Promise<number> {
  const loop = `while :; do ping -n -i 0.1 -w 10 ${INET.hosts[0]} >/dev/null 2>&1; sleep 0.1; done`;
  return lab.guest.start(NS.lan, "lan-pinger", ["sh", "-c", loop], "/run/mapectl-lab/logs/lan-pinger.log");
}

/** Reboots the router with MAP-E running; IPv4 must come back with no command typed. Measures the figures. */
export async function rebootProof(lab: Lab, router: RouterSystem, checks: Checks): Promise<RebootFigures> {
  const pinger = await startLanPinger(lab);
  let figures: RebootFigures = { bootToFirstPacket: null, onlineToFirstPacket: null, bootToRunning: 0 };
  const trace = tracingRequested();
  try {
    if (trace) await traceDaemon(router);
    await router.reboot();
    const boot = (await router.boots()).at(-1);
    if (boot === undefined) throw new Error("no boot recorded");
    // The guest's clock, as boot.start is: the host's drifts from it under TCG.
    const now = Number((await lab.run(null, ["date", "+%s.%N"])).trim());
    figures = { ...figures, bootToRunning: now - boot.start };
    const seconds = await waitForIpv4(lab, 120_000);
    const first = (await lab.records())
      .filter((r) => r.proto === "icmp" && r.t > boot.start)
      .sort((a, b) => a.t - b.t)[0];
    const online = await router.activeSince("network-online.target");
    figures = {
      ...figures,
      bootToFirstPacket: first === undefined ? null : first.t - boot.start,
      onlineToFirstPacket: first === undefined || online === null ? null : first.t - online,
    };
    checks.add(
      "reboot: IPv4 back with no command typed",
      seconds !== null && first !== undefined,
      `boot → first IPv4 packet through the BR ${fmt(figures.bootToFirstPacket)}, network-online → first packet ${fmt(figures.onlineToFirstPacket)} (goal ≤ 2 s), boot → systemd running ${fmt(figures.bootToRunning)}`,
    );
    if (trace)
      process.stderr.write(`reboot timeline (from network-online):\n${await timelineFromOnline(router)}\n`);
  } finally {
    await lab.guest.stop(pinger);
    if (trace) await untraceDaemon(router);
  }
  const before = await daemonJournal(router, "-1");
  checks.add(
    "reboot: the journal kept the daemon's lines of the boot before",
    before.length > 0,
    `${before.length} lines of boot -1`,
  );
  return figures;
}

function fmt(seconds: number | null): string {
  return seconds === null ? "not measured" : `${seconds.toFixed(1)} s`;
}

/**
 * A new delegated prefix under the real unit (its sandbox, its capabilities): the daemon
 * reconverges. The LAN sends all along, new flows (the pinger) and one long flow whose conntrack
 * entry was NATed to the old IPv4 address; the BRs log every drop, and none may come after the
 * switch to the new CE address, nor from it (judgeSwitch).
 */
export async function prefixChange(
  lab: Lab,
  router: RouterSystem,
  checks: Checks,
  prefix: string,
): Promise<void> {
  await lab.isp.setBrOptions({ logDrops: true });
  const oldCe = lab.isp.servedCes.map((c) => c.ceAddress);
  const watch = await watchBrs(lab);
  const pinger = await startLanPinger(lab);
  const flow = await lab.guest.start(
    NS.lan,
    "lan-flow",
    ["ping", "-n", "-i", "0.2", INET.hosts[1]],
    "/run/mapectl-lab/logs/lan-flow.log",
  );
  const seconds = await (async () => {
    try {
      await lab.isp.setPrefix(prefix, 120_000);
      const back = await waitForIpv4(lab, 120_000);
      // traffic after the switch, for the check that nothing after it is dropped
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return back;
    } finally {
      await lab.guest.stop(flow);
      await lab.guest.stop(pinger);
    }
  })();
  const seen = await watch.stop();
  const counted = await lab.isp.brDrops();
  const judged = judgeSwitch(
    seen,
    oldCe,
    lab.isp.servedCes.map((c) => c.ceAddress),
  );
  checks.add(
    `prefix change to ${prefix}: IPv4 back under the unit`,
    seconds !== null,
    seconds === null
      ? `no ping got through in 120 s; ${lastLine((await router.exec(["journalctl", "-u", "mapectl", "-n", "5", "--no-pager"])).stdout)}`
      : `through again ${seconds.toFixed(1)} s after the CE held the new prefix`,
  );
  const fault = judged.faults[0];
  checks.add(
    "prefix change: no BR drop after the switch, none from the new CE address",
    judged.switchAt !== null && judged.faults.length === 0,
    `${seen.arrivals.length} tunnel packets at the BRs, ${seen.drops.length} dropped: ${judged.unavoidable.length} from the old CE address before the switch (the BRs no longer serve it)` +
      `, ${judged.faults.length} others${fault === undefined ? "" : ` (first: ${fault.t.toFixed(3)} from ${fault.src}: ${fault.inner})`}` +
      `; switch at ${judged.switchAt?.toFixed(3) ?? "never"}; counted since the BRs took the new prefix: ${counted.join(" ") || "none"}`,
  );
}

/** systemctl restart and a package upgrade (the same .deb again) never cut IPv4; stop leaves the path up. */
export async function restartUpgradeStop(lab: Lab, router: RouterSystem, checks: Checks): Promise<void> {
  const restart = await pingDuring(lab, () => router.run(["systemctl", "restart", "mapectl"]), 15);
  checks.add(
    "systemctl restart never cuts IPv4",
    restart.sent > 0 && restart.received === restart.sent,
    `${restart.received}/${restart.sent} pings answered during and 15 s after the restart`,
  );
  const deb = await copyDeb(lab, router);
  let apt = "";
  const upgrade = await pingDuring(
    lab,
    async () => {
      const r = await aptInstall(router, deb, true);
      apt = r.code === 0 ? "reinstalled" : `apt failed: ${lastLine(r.stdout, r.stderr)}`;
    },
    15,
  );
  checks.add(
    "a package upgrade (the same .deb again) never cuts IPv4",
    apt === "reinstalled" && upgrade.sent > 0 && upgrade.received === upgrade.sent,
    `${apt}; ${upgrade.received}/${upgrade.sent} pings answered`,
  );
  await router.run(["systemctl", "stop", "mapectl"]);
  const state = (await router.exec(["systemctl", "is-active", "mapectl"])).stdout.trim();
  const after = await pingDuring(lab, () => Promise.resolve(), 3);
  checks.add(
    "systemctl stop leaves the path up",
    state !== "active" && after.received === after.sent,
    `mapectl ${state}; ${after.received}/${after.sent} pings answered`,
  );
}

/** What on the router is mapectl's: its tunnel, its nft table, its routes (proto 77), its state. */
async function mapectlObjects(router: RouterSystem): Promise<string[]> {
  const found: string[] = [];
  const links = await router.run(["ip", "-d", "link", "show", "type", "ip6tnl"]);
  if (/\bmape\b/.test(links)) found.push("tunnel mape");
  const tables = await router.run(["nft", "list", "tables"]);
  if (/\bmapectl\b/.test(tables)) found.push("nft table ip mapectl");
  for (const family of ["-4", "-6"]) {
    const routes = (await router.run(["ip", family, "route", "show", "table", "all", "proto", "77"])).trim();
    if (routes !== "") found.push(`routes proto 77 (${family}): ${routes.split("\n").length}`);
  }
  return found;
}

async function exists(router: RouterSystem, path: string): Promise<boolean> {
  return (await router.exec(["test", "-e", path])).code === 0;
}

/** apt remove: the unit goes and no mapectl object stays; apt purge: the configuration goes too. */
export async function removeAndPurge(router: RouterSystem, checks: Checks): Promise<void> {
  const remove = await router.exec(
    ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "remove", "-y", "mapectl"],
    {
      timeoutMs: 120_000,
    },
  );
  const left = await mapectlObjects(router);
  const unit = await exists(router, "/lib/systemd/system/mapectl.service");
  const config = await exists(router, "/etc/mapectl/config.toml");
  checks.add(
    "apt remove: the unit gone, no mapectl object left, the configuration kept",
    remove.code === 0 && !unit && left.length === 0 && config,
    remove.code !== 0
      ? lastLine(remove.stdout, remove.stderr)
      : `unit ${unit ? "still there" : "gone"}; left: ${left.join(", ") || "nothing"}; config.toml ${config ? "kept" : "gone"}`,
  );
  const purge = await router.exec(
    ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "mapectl"],
    {
      timeoutMs: 120_000,
    },
  );
  const remaining = [];
  for (const path of ["/etc/mapectl/config.toml", "/var/lib/mapectl", "/usr/sbin/mapectl"])
    if (await exists(router, path)) remaining.push(path);
  checks.add(
    "apt purge: the configuration and state gone too",
    purge.code === 0 && remaining.length === 0,
    purge.code !== 0 ? lastLine(purge.stdout, purge.stderr) : `left: ${remaining.join(", ") || "nothing"}`,
  );
}
