import { join } from "node:path";
import { CE, GUEST, INET, LAN, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import { logFile } from "./topology.ts";
import { waitFor } from "./wait.ts";

// Long-running processes in the guest for the daemon's proofs (test/lab/watch.test.ts,
// test/lab/ports.test.ts, bench/watch-reconverge.ts): the daemon itself, a stream of new
// connections, a route monitor with timestamps, many concurrent flows. Times are the guest's
// clock (seconds since the epoch), so the daemon, the probe and the monitor compare directly.

const PROBER = ["lab", "guest", "prober.py"];

export function proberPath(lab: Lab): string {
  return join(lab.repo, ...PROBER);
}

async function lines(lab: Lab, file: string): Promise<string[]> {
  return (await lab.guest.readText(file)).split("\n").filter((l) => l.trim() !== "");
}

export interface DaemonEvent {
  readonly at: string;
  readonly level: "info" | "warning" | "error";
  readonly message: string;
}

export interface WatchDaemon {
  readonly pid: number;
  readonly logPath: string;
  /** The daemon's stderr, one decision per line. */
  log(): Promise<string[]>;
  /** /run/mapectl/events.json, the last 50 decisions. */
  events(): Promise<DaemonEvent[]>;
  /** Waits until a log line matches; returns it. Only lines after `from` (an index into log()) count. */
  waitForLine(pattern: RegExp, timeoutMs: number, from?: number): Promise<string>;
  signal(name: "HUP" | "TERM"): Promise<void>;
  /** VmRSS of the daemon in KiB, from /proc/<pid>/status. */
  rssKiB(): Promise<number>;
  /** The exit of the process when it has ended, else null. */
  exit(): Promise<{ code: number | null; signal: string | null } | null>;
  stop(): Promise<void>;
}

let daemons = 0;

/** `mapectl watch --wan wan0 --lan lan0 …` in the ce namespace, as the systemd unit runs it. */
export async function startWatch(
  lab: Lab,
  extra: readonly string[] = [],
  options: { readonly nodeArgs?: readonly string[] } = {},
): Promise<WatchDaemon> {
  const name = `mapectl-watch-${++daemons}`;
  const logPath = logFile(name);
  const pid = await lab.guest.start(
    NS.ce,
    name,
    [
      process.execPath,
      ...(options.nodeArgs ?? []),
      join(lab.repo, "dist", "mapectl.cjs"),
      "watch",
      "--wan",
      CE.wan,
      "--lan",
      CE.lan,
      ...extra,
    ],
    logPath,
    { NODE_EXTRA_CA_CERTS: GUEST.caCert },
  );
  const log = () => lines(lab, logPath);
  return {
    pid,
    logPath,
    log,
    events: async () => {
      const text = await lab.guest.readText("/run/mapectl/events.json");
      return text.trim() === "" ? [] : (JSON.parse(text) as DaemonEvent[]);
    },
    waitForLine: async (pattern, timeoutMs, from = 0) => {
      try {
        return await waitFor(`a line matching ${String(pattern)}`, timeoutMs, async () => {
          const found = (await log()).slice(from).find((l) => pattern.test(l));
          return found ?? null;
        });
      } catch (err) {
        // what the daemon did instead is the whole diagnosis
        const tail = (await log()).slice(Math.max(from - 3, 0)).slice(-25);
        // a log that stops may be a daemon that ended (its stderr is the log) or one stuck in a round
        const ended = (await lab.guest.daemons()).find((d) => d.pid === pid)?.exit ?? null;
        const state = ended === null ? "still running" : `ended ${JSON.stringify(ended)}`;
        throw new Error(
          `${(err as Error).message}; the daemon is ${state}; ${logPath} from there:\n${tail.join("\n")}`,
          {
            cause: err,
          },
        );
      }
    },
    signal: async (signal) => {
      await lab.run(null, ["kill", `-${signal}`, String(pid)]);
    },
    rssKiB: async () => {
      const status = await lab.guest.readText(`/proc/${pid}/status`);
      const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (match === null) throw new Error(`no VmRSS for pid ${pid} (has it exited?)`);
      return Number(match[1]);
    },
    exit: async () => {
      const entry = (await lab.guest.daemons()).find((d) => d.pid === pid);
      return (entry?.exit ?? null) as { code: number | null; signal: string | null } | null;
    },
    stop: () => lab.guest.stop(pid, 10_000),
  };
}

export interface ProbeRecord {
  /** When the attempt started and ended (guest clock, seconds). */
  readonly t: number;
  readonly done: number;
  readonly ok: boolean;
  readonly error: string | null;
}

export interface Probe {
  records(): Promise<ProbeRecord[]>;
  stop(): Promise<void>;
}

/** A new TCP connection from lan every `intervalS` (each a new NAT tuple), for `durationS` at most. */
export async function startProbe(
  lab: Lab,
  host: string = INET.hosts[1],
  port: number = INET.manyPort,
  intervalS = 0.1,
  timeoutS = 1.5,
  durationS = 3600,
): Promise<Probe> {
  const name = `probe-${++daemons}`;
  const path = logFile(name);
  const pid = await lab.guest.start(
    NS.lan,
    name,
    [
      "/usr/bin/python3",
      proberPath(lab),
      "probe",
      host,
      String(port),
      String(intervalS),
      String(timeoutS),
      String(durationS),
    ],
    path,
  );
  return {
    records: async () => (await lines(lab, path)).map((l) => JSON.parse(l) as ProbeRecord),
    stop: () => lab.guest.stop(pid, 5000),
  };
}

export interface Download {
  /** iperf3's output so far. */
  log(): Promise<string>;
  /** iperf3's one-second interval lines so far: the download carried data in each. */
  intervals(): Promise<string[]>;
  stop(): Promise<void>;
}

/** A long download to lan (iperf3 -R: the inet server sends) for `seconds`, reported every second. */
export async function startDownload(
  lab: Lab,
  host: string = INET.hosts[0],
  seconds = 300,
): Promise<Download> {
  const name = `download-${++daemons}`;
  const argv = ["iperf3", "-c", host, "-p", String(INET.iperfPort), "-R", "-t", String(seconds)];
  const pid = await lab.guest.start(NS.lan, name, [...argv, "-i", "1", "--forceflush"], logFile(name));
  return {
    log: () => lab.log(name),
    intervals: async () => (await lab.log(name)).split("\n").filter((x) => /sec\s+\d/.test(x)),
    stop: () => lab.guest.stop(pid),
  };
}

/** The first successful probe that started at or after `since`, by when it finished; null if none yet. */
export function firstSuccessAfter(records: readonly ProbeRecord[], since: number): ProbeRecord | null {
  return records.filter((r) => r.ok && r.t >= since).sort((a, b) => a.done - b.done)[0] ?? null;
}

export interface RouteMonitor {
  /** When `unreachable <prefix>` (the delegation) appeared on the CE, guest clock; null if not yet. */
  appeared(prefix: string, after?: number): Promise<number | null>;
  stop(): Promise<void>;
}

/** `ip -ts monitor route` in the ce namespace: when the delegated prefix shows on the WAN side. */
export async function startRouteMonitor(lab: Lab): Promise<RouteMonitor> {
  const name = `routes-${++daemons}`;
  const path = logFile(name);
  const pid = await lab.guest.start(NS.ce, name, ["ip", "-ts", "monitor", "route"], path);
  // ip monitor has no "listening" line: give it a moment to open its socket
  await new Promise((r) => setTimeout(r, 1000));
  return {
    appeared: async (prefix, after = 0) => {
      for (const line of await lines(lab, path)) {
        const m = /^\[([0-9T:.-]+)\] unreachable (\S+) /.exec(line);
        if (m === null || m[2] !== prefix) continue;
        const at = ipStampSeconds(m[1] ?? "");
        if (at >= after) return at;
      }
      return null;
    },
    stop: () => lab.guest.stop(pid, 2000),
  };
}

export interface AddressMonitor {
  /** When `address` (a /128 on the device) came out of duplicate address detection, guest clock; null if not yet. */
  settled(address: string): Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * `ip -ts -o monitor address dev <dev>` in the ce namespace. An optimistic address is announced only
 * when its DAD ends (the kernel tells listeners of a tentative one only where it may be a source).
 */
export async function startAddressMonitor(lab: Lab, dev: string): Promise<AddressMonitor> {
  const name = `addresses-${++daemons}`;
  const path = logFile(name);
  const pid = await lab.guest.start(NS.ce, name, ["ip", "-ts", "-o", "monitor", "address", "dev", dev], path);
  await new Promise((r) => setTimeout(r, 1000));
  return {
    settled: async (address) => {
      for (const line of await lines(lab, path)) {
        // -o prints a stamp for events it shows as nothing too, so one line may start with several
        const m = /^(?:\[[0-9T:.-]+\] )*\[([0-9T:.-]+)\] (?!Deleted)/.exec(line);
        if (m === null || !line.includes(` ${address}/128 `) || /tentative|dadfailed/.test(line)) continue;
        return ipStampSeconds(m[1] ?? "");
      }
      return null;
    },
    stop: () => lab.guest.stop(pid, 2000),
  };
}

/** An `ip -ts` stamp in seconds: the guest's clock is UTC; ip -ts prints local time without a zone. */
function ipStampSeconds(stamp: string): number {
  return Date.parse(`${stamp}Z`) / 1000;
}

/** The guest's clock now, in seconds (the probe's and the monitor's timescale). */
export async function guestNow(lab: Lab): Promise<number> {
  return Number((await lab.run(null, ["date", "+%s.%N"])).trim());
}

/** Extra inside hosts: secondary addresses on the lan client's interface (192.168.1.10, .11, …). */
export async function addLanHosts(lab: Lab, count: number): Promise<string[]> {
  const hosts = Array.from({ length: count }, (_, i) => `192.168.1.${10 + i}`);
  for (const h of hosts)
    await lab.exec(NS.lan, ["ip", "addr", "replace", `${h}/${LAN.prefixLength}`, "dev", LAN.clientIface]);
  return hosts;
}

/**
 * More of "the internet": addresses from 198.18.0.0/15 (the benchmarking range) on inet's dummy0.
 * Its echo servers listen on every address, and the BR routes replies by destination only.
 */
export async function addInetHosts(lab: Lab, count: number): Promise<string[]> {
  const hosts = Array.from(
    { length: count },
    (_, i) => `198.18.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`,
  );
  const batch = join(GUEST.runDir, "inet-extra.batch");
  await lab.guest.writeFile(batch, hosts.map((h) => `addr replace ${h}/32 dev dummy0`).join("\n") + "\n");
  await lab.run(NS.inet, ["ip", "-batch", batch]);
  return hosts;
}

export interface FlowsSummary {
  readonly count: number;
  readonly ok: number;
  readonly seconds: number;
  readonly errors: Record<string, number>;
  readonly perSource: Record<string, number>;
  readonly destinations: number;
}

export interface HeldFlows {
  readonly summary: FlowsSummary;
  /** Closes every flow (the process ends). */
  close(): Promise<void>;
}

/**
 * `count` concurrent TCP flows from lan, round robin over `sources` (local addresses) and
 * `destinations`, each echoed once and then held open until close(), so conntrack and the NAT can
 * be read while every one of them is established.
 */
export async function openFlows(
  lab: Lab,
  spec: { sources: readonly string[]; destinations: readonly (readonly [string, number])[]; count: number },
  timeoutS = 120,
): Promise<HeldFlows> {
  const name = `flows-${++daemons}`;
  const specFile = join(GUEST.runDir, `${name}.json`);
  await lab.guest.writeFile(specFile, JSON.stringify({ ...spec, timeout: timeoutS, hold: 3600 }));
  const path = logFile(name);
  const pid = await lab.guest.start(
    NS.lan,
    name,
    ["/usr/bin/python3", proberPath(lab), "flows", specFile],
    path,
  );
  const summary = await waitFor(
    `${spec.count} flows to finish connecting`,
    (timeoutS + 60) * 1000,
    async () => {
      const [first] = await lines(lab, path);
      return first === undefined ? null : (JSON.parse(first) as FlowsSummary);
    },
    1000,
  );
  return { summary, close: () => lab.guest.stop(pid, 5000) };
}

interface IpLinkJson {
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: { local?: string; remote?: string } };
}
interface IpAddrJson {
  ifname: string;
  addr_info?: { local: string; prefixlen: number; scope: string }[];
}
interface IpRouteJson {
  dst: string;
  dev?: string;
  gateway?: string;
  type?: string;
  protocol?: string;
  metric?: number;
  table?: string;
}
interface NftJson {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string };
  rule?: { family: string; table: string };
  set?: { family: string; table: string; name: string };
  map?: { family: string; table: string; name: string };
}

/**
 * What a daemon could leak, in a form that compares across time: tunnels and other links (kind,
 * endpoints), addresses, routes of every table, nftables tables with their chains, sets and rule
 * counts. Counters, timers and handles are left out.
 */
export async function hostView(lab: Lab, ns: typeof NS.ce = NS.ce): Promise<Record<string, string[]>> {
  const snap = await lab.snapshot(ns);
  const links = (snap.links as IpLinkJson[]).map((l) =>
    [
      l.ifname,
      l.linkinfo?.info_kind ?? "-",
      l.linkinfo?.info_data?.local ?? "",
      l.linkinfo?.info_data?.remote ?? "",
    ]
      .join(" ")
      .trim(),
  );
  const addresses = (snap.addresses as IpAddrJson[]).flatMap((a) =>
    (a.addr_info ?? []).map((i) => `${a.ifname} ${i.local}/${i.prefixlen} ${i.scope}`),
  );
  const routes = [...(snap.routes4 as IpRouteJson[]), ...(snap.routes6 as IpRouteJson[])].map((r) =>
    [
      r.table ?? "main",
      r.type ?? "unicast",
      r.dst,
      r.dev ?? "",
      r.gateway ?? "",
      r.protocol ?? "",
      String(r.metric ?? ""),
    ].join(" "),
  );
  const rules = new Map<string, number>();
  const nft: string[] = [];
  for (const item of snap.nft as NftJson[]) {
    if (item.table !== undefined) nft.push(`table ${item.table.family} ${item.table.name}`);
    if (item.chain !== undefined)
      nft.push(`chain ${item.chain.family} ${item.chain.table} ${item.chain.name}`);
    if (item.set !== undefined) nft.push(`set ${item.set.family} ${item.set.table} ${item.set.name}`);
    if (item.map !== undefined) nft.push(`map ${item.map.family} ${item.map.table} ${item.map.name}`);
    if (item.rule !== undefined) {
      const key = `${item.rule.family} ${item.rule.table}`;
      rules.set(key, (rules.get(key) ?? 0) + 1);
    }
  }
  for (const [table, count] of rules) nft.push(`rules ${table}: ${count}`);
  const sorted = (list: string[]) => [...new Set(list)].sort();
  return { links: sorted(links), addresses: sorted(addresses), routes: sorted(routes), nft: sorted(nft) };
}
