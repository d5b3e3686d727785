import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CE, GUEST, INET, NGN, NS, type NamespaceName } from "./addresses.ts";
import { countedDrops, type BrOptions, type ServedCe } from "./border-relays.ts";
import { Guest, type ExecOptions, type ExecResult, type Namespace } from "./guest.ts";
import { keaConfig, unboundConfig, v6migAnswer, v6migTxt } from "./ngn-config.ts";
import { preparePki, type LabPki } from "./pki.ts";
import { repoRoot } from "./paths.ts";
import {
  buildLinks,
  dhclientArgv,
  FILES,
  loadBorderRelays,
  logFile,
  startServices,
  type Daemons,
} from "./topology.ts";
import { bootVm, type BootedVm, type VmOptions } from "./vm.ts";

export interface LabOptions extends VmOptions {
  /** The /56 that Kea delegates to the CE; the seed user's BIGLOBE prefix by default. */
  prefix?: string;
  strictEncapLimit?: boolean;
}

/** What inet saw: one entry per TCP connection, UDP datagram, DNS query, HTTP request or echo request. */
export interface InetRecord {
  proto: "tcp" | "udp" | "icmp" | "http";
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  id?: number;
  seq?: number;
  dns?: string;
  path?: string;
  t: number;
}

export interface NamespaceSnapshot {
  readonly ns: Namespace;
  readonly links: unknown[];
  readonly addresses: unknown[];
  readonly routes4: unknown[];
  readonly routes6: unknown[];
  readonly rules4: unknown[];
  readonly rules6: unknown[];
  /** `nft -j list ruleset`, parsed (the nftables array). */
  readonly nft: unknown[];
}

export interface LinkStats {
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly txErrors: number;
  readonly txDropped: number;
}

export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

export interface ManyConnectionsResult {
  readonly count: number;
  readonly ok: number;
  /** The lan client's own ports, before NAT. */
  readonly clientPorts: readonly number[];
  /** Source address and port of each connection as inet saw it (after the CE's NAT). */
  readonly seen: readonly { src: string; sport: number }[];
}

export interface Capture {
  /** Host path of the pcap (in the results folder); readable while the capture runs, complete after stop(). */
  readonly file: string;
  stop(): Promise<string>;
}

function parseJson(text: string, what: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  try {
    const value: unknown = JSON.parse(trimmed);
    return Array.isArray(value) ? value : [value];
  } catch {
    throw new Error(`${what}: not JSON: ${trimmed.slice(0, 200)}`);
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline)
      throw new Error(`lab: timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A booted lab: one VM with the lan, ce, ngn, br and inet namespaces. Boot it once per test file
 * (before/after hooks); scenarios and tests then drive it with exec, mapectl and the helpers below.
 */
export class Lab {
  readonly guest: Guest;
  readonly repo: string;
  readonly pki: LabPki;
  /** Host seconds from qemu start to the agent, and from there to a CE with its /56. */
  readonly bootSeconds: number;
  topologySeconds = 0;
  private served: ServedCe[] = [];
  private brOptions: BrOptions;
  private daemons: Daemons = {};
  private currentPrefix: string;
  private captures = 0;
  private readonly vm: BootedVm;

  private constructor(vm: BootedVm, repo: string, pki: LabPki, prefix: string, brOptions: BrOptions) {
    this.vm = vm;
    this.guest = new Guest(vm.agent);
    this.repo = repo;
    this.pki = pki;
    this.bootSeconds = vm.bootSeconds;
    this.currentPrefix = prefix;
    this.brOptions = brOptions;
  }

  static async boot(options: LabOptions = {}): Promise<Lab> {
    const repo = repoRoot();
    const pki = preparePki();
    let vm: BootedVm;
    try {
      vm = await bootVm(options);
    } catch (err) {
      // One more try: under TCG a boot can stall on timer calibration, and a second boot is cheap.
      options.log?.(`lab: ${(err as Error).message.split("\n")[0] ?? ""}; booting once more`);
      vm = await bootVm(options);
    }
    const lab = new Lab(vm, repo, pki, options.prefix ?? "2404:7a82:4d02:4100::/56", {
      strictEncapLimit: options.strictEncapLimit ?? false,
    });
    try {
      const started = Date.now();
      await lab.buildTopology(options.log ?? (() => undefined));
      lab.topologySeconds = (Date.now() - started) / 1000;
      options.log?.(`lab: topology ready in ${lab.topologySeconds.toFixed(1)} s`);
    } catch (err) {
      await lab.shutdown();
      throw err;
    }
    return lab;
  }

  get prefix(): string {
    return this.currentPrefix;
  }

  get accel(): string {
    return this.vm.accel.accel;
  }

  get accelReason(): string {
    return this.vm.accel.reason;
  }

  get kernelRelease(): string {
    return this.vm.kernel.release;
  }

  /** Host folder the guest also sees, writable: pcaps, reports. */
  get resultsDir(): string {
    return this.vm.resultsDir;
  }

  /** The CEs the BRs serve now (one per delegated prefix), with what each BR accepts. */
  get servedCes(): readonly ServedCe[] {
    return this.served;
  }

  private async buildTopology(log: (line: string) => void): Promise<void> {
    const t0 = Date.now();
    const mark = (what: string): void => {
      log(`lab: ${what} at +${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    await buildLinks(this.guest);
    mark("links");
    const [served, daemons] = await Promise.all([
      loadBorderRelays(this.guest, [this.currentPrefix], this.brOptions, []),
      startServices(this.guest, this.repo, this.pki, this.currentPrefix),
      this.routeDelegatedPrefix(),
    ]);
    this.served = served;
    this.daemons = daemons;
    mark("BRs loaded, services started");
    await this.waitForLog("kea-dhcp6", /DHCP6_STARTED/, 30_000);
    mark("kea up");
    this.daemons.dhclient = await this.guest.start(
      NS.ce,
      "dhclient",
      dhclientArgv(this.repo),
      logFile("dhclient"),
    );
    await Promise.all([
      this.waitForPrefix(this.currentPrefix, 60_000).then(() => {
        mark("prefix delegated");
      }),
      this.waitForDefaultRoute(30_000).then(() => {
        mark("RA default route");
      }),
      this.waitForLog("inet-servers", /inet servers ready/, 30_000).then(() => {
        mark("inet servers");
      }),
      this.waitForLog("provisioning", /provisioning server ready/, 30_000),
    ]);
  }

  /** What the ISP's DHCPv6 relay does on delegation: route the /56 to the CE's link-local address. */
  private async routeDelegatedPrefix(previous?: string): Promise<void> {
    if (previous !== undefined && previous !== this.currentPrefix) {
      await this.guest.exec(NS.ngn, ["ip", "-6", "route", "del", previous]);
    }
    await this.guest.run(NS.ngn, [
      "ip",
      "-6",
      "route",
      "replace",
      this.currentPrefix,
      "via",
      CE.wanLinkLocal,
      "dev",
      NGN.bridge,
    ]);
  }

  private async waitForLog(name: string, pattern: RegExp, timeoutMs: number): Promise<void> {
    await until(`${name} to start (${logFile(name)})`, timeoutMs, async () => {
      const text = await this.guest.readText(logFile(name));
      return pattern.test(text) ? true : null;
    });
  }

  /** Waits until the CE holds `prefix` from DHCPv6-PD (the dhclient hook wrote it). */
  async waitForPrefix(prefix: string, timeoutMs = 60_000): Promise<void> {
    await until(`the CE to get ${prefix} by DHCPv6-PD`, timeoutMs, async () => {
      const text = (await this.guest.readText(FILES.ceDelegated)).trim();
      return text === prefix ? true : null;
    });
  }

  private async waitForDefaultRoute(timeoutMs: number): Promise<void> {
    await until(
      "the CE's default route from RA",
      timeoutMs,
      async () => {
        const routes = parseJson(
          await this.guest.run(NS.ce, ["ip", "-6", "-j", "route", "show", "default"]),
          "ip route",
        );
        return routes.length > 0 ? true : null;
      },
      500,
    );
  }

  exec(ns: Namespace, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.guest.exec(ns, argv, options);
  }

  /** exec that must succeed; returns stdout. */
  run(ns: Namespace, argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    return this.guest.run(ns, argv, options);
  }

  /**
   * Runs the bundled CLI (dist/mapectl.cjs, from `npm run build`) in a namespace, as a router would
   * run it. The lab's CA is trusted for HB46PP over HTTPS.
   */
  async mapectl(ns: Namespace, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const bundle = join(this.repo, "dist", "mapectl.cjs");
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build first`);
    return this.guest.exec(ns, [process.execPath, bundle, ...args], {
      ...options,
      env: { NODE_EXTRA_CA_CERTS: GUEST.caCert, ...(options.env ?? {}) },
    });
  }

  /** ip -j state and the nftables ruleset of one namespace. */
  async snapshot(ns: Namespace): Promise<NamespaceSnapshot> {
    const ip = (args: string[]): Promise<unknown[]> =>
      this.guest.run(ns, ["ip", "-j", ...args]).then((text) => parseJson(text, `ip ${args.join(" ")}`));
    const [links, addresses, routes4, routes6, rules4, rules6, nftText] = await Promise.all([
      ip(["-d", "-s", "link", "show"]),
      ip(["addr", "show"]),
      ip(["-4", "route", "show", "table", "all"]),
      ip(["-6", "route", "show", "table", "all"]),
      ip(["-4", "rule", "show"]),
      ip(["-6", "rule", "show"]),
      this.guest.run(ns, ["nft", "-j", "list", "ruleset"]),
    ]);
    const nft = parseJson(nftText, "nft -j list ruleset")[0] as { nftables?: unknown[] } | undefined;
    return { ns, links, addresses, routes4, routes6, rules4, rules6, nft: nft?.nftables ?? [] };
  }

  async linkStats(ns: Namespace, iface: string): Promise<LinkStats> {
    const [link] = parseJson(
      await this.guest.run(ns, ["ip", "-j", "-s", "link", "show", "dev", iface]),
      "ip link",
    ) as {
      stats64?: {
        rx: { packets: number; bytes: number };
        tx: { packets: number; bytes: number; errors: number; dropped: number };
      };
    }[];
    const s = link?.stats64;
    if (s === undefined) throw new Error(`no statistics for ${iface} in ${String(ns)}`);
    return {
      rxPackets: s.rx.packets,
      txPackets: s.tx.packets,
      rxBytes: s.rx.bytes,
      txBytes: s.tx.bytes,
      txErrors: s.tx.errors,
      txDropped: s.tx.dropped,
    };
  }

  /** The BRs' named counters (`<br>_<reason>`, e.g. jpne_unknown_ce), since the BRs were last loaded. */
  async counters(): Promise<Record<string, Counter>> {
    const text = await this.guest.run(NS.br, ["nft", "-j", "list", "counters"]);
    const doc = parseJson(text, "nft -j list counters")[0] as {
      nftables?: { counter?: { name: string; packets: number; bytes: number } }[];
    };
    const out: Record<string, Counter> = {};
    for (const item of doc.nftables ?? []) {
      if (item.counter !== undefined)
        out[item.counter.name] = { packets: item.counter.packets, bytes: item.counter.bytes };
    }
    return out;
  }

  /** The BRs' drop counters that counted something, as `name=packets` (every counter but decap/encap). */
  async brDrops(): Promise<string[]> {
    return countedDrops(await this.counters());
  }

  /** Zeroes the BRs' named counters (a scenario's counters then are its own). */
  async resetCounters(): Promise<void> {
    await this.guest.run(NS.br, ["nft", "reset", "counters", "table", "inet", "mapebr"]);
  }

  /** Reloads the BRs (resets their counters), optionally as strict BRs that drop a Destination Options header. */
  async setBrOptions(options: Partial<BrOptions> = {}): Promise<void> {
    this.brOptions = { ...this.brOptions, ...options };
    this.served = await loadBorderRelays(this.guest, [this.currentPrefix], this.brOptions, this.served);
  }

  /** Everything inet recorded since the last clearRecords(). */
  async records(): Promise<InetRecord[]> {
    const text = await this.guest.readText(FILES.inetRecords);
    return text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as InetRecord);
  }

  async clearRecords(): Promise<void> {
    await this.guest.run(NS.inet, ["truncate", "-s", "0", FILES.inetRecords]);
  }

  /** What the HB46PP server was asked (one entry per request, with the query string fields). */
  async provisioningRequests(): Promise<Record<string, unknown>[]> {
    const text = await this.guest.readText(FILES.provisioningLog);
    return text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Replaces the HB46PP answer (null: the shipped rules for the current prefix). */
  async setProvisioning(answer: Record<string, unknown> | null): Promise<void> {
    await this.guest.writeFile(
      FILES.v6mig,
      JSON.stringify(answer ?? v6migAnswer(this.currentPrefix), null, 2),
    );
  }

  /** Replaces the TXT record of 4over6.info (null: no record) and restarts the resolver. */
  async setV6migTxt(txt: string | null = v6migTxt()): Promise<void> {
    await this.guest.writeFile(FILES.unbound, unboundConfig(GUEST.runDir, txt));
    await this.restartDaemon("unbound", NS.ngn, ["unbound", "-d", "-c", FILES.unbound]);
  }

  private async restartDaemon(
    name: string,
    ns: NamespaceName,
    argv: string[],
    env?: Record<string, string>,
  ): Promise<void> {
    const pid = this.daemons[name];
    if (pid !== undefined) await this.guest.stop(pid);
    this.daemons[name] = await this.guest.start(ns, name, argv, logFile(name), env);
  }

  /**
   * Delegates a new /56: Kea gets the new pool (a fresh lease database), the BRs serve the new CE,
   * and the CE's DHCPv6 client starts over (a line reconnect), so the CE sees the new prefix. MAP-E
   * state on the CE is left as it is: noticing the change is the job of what is under test.
   * `provisioning` replaces the HB46PP answer for the new prefix (default: its shipped rules, TTL
   * one day), in place before the CE can ask for it.
   */
  async setPrefix(
    prefix: string,
    timeoutMs = 90_000,
    provisioning?: (prefix: string) => Record<string, unknown>,
  ): Promise<void> {
    const previous = this.currentPrefix;
    this.currentPrefix = prefix;
    await this.routeDelegatedPrefix(previous);
    await this.guest.writeFile(FILES.kea, JSON.stringify(keaConfig(prefix, FILES.keaDir), null, 2));
    await this.guest.writeFile(FILES.v6mig, JSON.stringify((provisioning ?? v6migAnswer)(prefix), null, 2));
    await this.guest.writeFile(logFile("kea-dhcp6"), "");
    // The client releases the old lease first (its hook removes the old /56 and LAN address), as a
    // router does when its line goes down; killing it would leave them behind.
    await this.guest.exec(NS.ce, dhclientArgv(this.repo, ["-r"]), { timeoutMs: 20_000 });
    const dhclient = this.daemons.dhclient;
    if (dhclient !== undefined) await this.guest.stop(dhclient);
    await this.restartDaemon("kea-dhcp6", NS.ngn, ["kea-dhcp6", "-c", FILES.kea], {
      KEA_LOCKFILE_DIR: "none",
      KEA_PIDFILE_DIR: FILES.keaDir,
    });
    this.served = await loadBorderRelays(this.guest, [prefix], this.brOptions, this.served);
    await this.waitForLog("kea-dhcp6", /DHCP6_STARTED/, 30_000);
    await this.guest.writeFile(join(GUEST.runDir, "dhclient6.leases"), "");
    this.daemons.dhclient = await this.guest.start(
      NS.ce,
      "dhclient",
      dhclientArgv(this.repo),
      logFile("dhclient"),
    );
    await this.waitForPrefix(prefix, timeoutMs);
  }

  /**
   * Opens `count` TCP connections at once from lan to host:port, all held until each has echoed,
   * and returns which source ports inet saw (after the CE's NAT).
   */
  async connectMany(
    count: number,
    host: string = INET.hosts[0],
    port: number = INET.manyPort,
    timeoutS = 20,
  ): Promise<ManyConnectionsResult> {
    const already = (await this.records()).length;
    const out = await this.run(
      NS.lan,
      [
        "/usr/bin/python3",
        join(this.repo, "lab", "guest", "clients.py"),
        "tcp",
        host,
        String(port),
        String(count),
        String(timeoutS),
      ],
      {
        timeoutMs: (timeoutS + 30) * 1000,
      },
    );
    const report = JSON.parse(out) as { count: number; ok: number; results: { localPort: number }[] };
    const seen = (await this.records())
      .slice(already)
      .filter((r) => r.proto === "tcp" && r.dport === port && r.dst === host)
      .map((r) => ({ src: r.src, sport: r.sport ?? -1 }));
    return { count: report.count, ok: report.ok, clientPorts: report.results.map((r) => r.localPort), seen };
  }

  /** UDP datagrams from `count` sockets in lan to host:port, each waiting for its echo. */
  async udpProbe(
    count: number,
    host: string = INET.hosts[0],
    port: number = INET.udpEchoPort,
    timeoutS = 10,
  ): Promise<{ count: number; ok: number }> {
    const out = await this.run(
      NS.lan,
      [
        "/usr/bin/python3",
        join(this.repo, "lab", "guest", "clients.py"),
        "udp",
        host,
        String(port),
        String(count),
        String(timeoutS),
      ],
      {
        timeoutMs: (timeoutS + 30) * 1000,
      },
    );
    return JSON.parse(out) as { count: number; ok: number };
  }

  /** tcpdump -U -w on one link; the pcap lands in the results folder on the host. */
  async capture(ns: NamespaceName, iface: string, filter: readonly string[] = []): Promise<Capture> {
    const name = `capture-${++this.captures}-${ns}-${iface}`;
    const file = join(this.resultsDir, `${name}.pcap`);
    const pid = await this.guest.start(
      ns,
      name,
      ["tcpdump", "-n", "-U", "-i", iface, "-w", file, ...filter],
      logFile(name),
    );
    // tcpdump says "listening on" once its socket is open; packets before that are lost.
    await this.waitForLog(name, /listening on/, 20_000);
    return {
      file,
      stop: async () => {
        await this.guest.stop(pid, 2000);
        return file;
      },
    };
  }

  /** The guest's logs of a daemon (inet-servers, kea-dhcp6, unbound, radvd, dhclient, provisioning, …). */
  log(name: string): Promise<string> {
    return this.guest.readText(logFile(name));
  }

  async shutdown(): Promise<void> {
    await this.vm.stop();
    // Results stay for a failed run's post-mortem only when asked to.
    if (process.env.MAPECTL_LAB_KEEP !== "1")
      rmSync(join(this.resultsDir, ".."), { recursive: true, force: true });
  }
}
