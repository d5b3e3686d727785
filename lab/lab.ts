import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PREFIX, GUEST, NS } from "./addresses.ts";
import { Guest, type ExecOptions, type ExecResult, type Namespace } from "./guest.ts";
import { Isp } from "./isp.ts";
import { parseJson, parseJsonLines } from "./parse-json.ts";
import { preparePki, type LabPki } from "./pki.ts";
import { repoRoot } from "./paths.ts";
import { FILES, logFile } from "./topology.ts";
import { bootVm, type BootedVm, type VmOptions } from "./vm.ts";
import { waitFor } from "./wait.ts";

// The lab's core: the VM's life, commands in its namespaces and what can be read there. The ISP's
// controls are lab.isp (isp.ts); traffic and captures are functions that take a Lab (clients.ts,
// capture.ts, traffic.ts).

export interface LabOptions extends VmOptions {
  /** The /56 that Kea delegates to the CE; the seed user's BIGLOBE prefix by default. */
  prefix?: string;
  strictEncapLimit?: boolean;
  /**
   * Start ISC dhclient as the ce namespace's DHCPv6-PD client (default). False when the CE is a
   * router system with its own client (lab/router-system.ts): the lab then only builds the line.
   */
  ceDhcpClient?: boolean;
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

async function bootWithRetry(options: VmOptions): Promise<BootedVm> {
  try {
    return await bootVm(options);
  } catch (err) {
    // One more try: under TCG a boot can stall on timer calibration, and a second boot is cheap.
    options.log?.(`lab: ${(err as Error).message.split("\n")[0] ?? ""}; booting once more`);
    return bootVm(options);
  }
}

/**
 * A booted lab: one VM with the lan, ce, ngn, br and inet namespaces. Boot it once per test file
 * (test/helpers/lab.ts useLab); scenarios and tests then drive it with exec, mapectl, lab.isp and
 * the traffic functions.
 */
export class Lab {
  readonly guest: Guest;
  readonly repo: string;
  readonly pki: LabPki;
  readonly isp: Isp;
  /** Host seconds from qemu start to the agent, and from there to a CE with its /56. */
  readonly bootSeconds: number;
  topologySeconds = 0;
  readonly ceDhcpClient: boolean;
  private readonly vm: BootedVm;

  private constructor(vm: BootedVm, repo: string, pki: LabPki, options: LabOptions) {
    this.vm = vm;
    this.guest = new Guest(vm.agent);
    this.repo = repo;
    this.pki = pki;
    this.bootSeconds = vm.bootSeconds;
    this.isp = new Isp(this, options.prefix ?? DEFAULT_PREFIX, {
      strictEncapLimit: options.strictEncapLimit ?? false,
    });
    this.ceDhcpClient = options.ceDhcpClient ?? true;
  }

  static async boot(options: LabOptions = {}): Promise<Lab> {
    const repo = repoRoot();
    const pki = preparePki();
    const lab = new Lab(await bootWithRetry(options), repo, pki, options);
    try {
      const started = Date.now();
      await lab.isp.start(options.log ?? (() => undefined));
      lab.topologySeconds = (Date.now() - started) / 1000;
      options.log?.(`lab: topology ready in ${lab.topologySeconds.toFixed(1)} s`);
    } catch (err) {
      await lab.shutdown();
      throw err;
    }
    return lab;
  }

  /** The /56 delegated to the CE now (lab.isp.setPrefix changes it). */
  get prefix(): string {
    return this.isp.prefix;
  }

  /** Guest instructions per vCPU since boot; undefined unless booted with countInstructions under TCG. */
  get instructionCounts(): (() => Promise<number[]>) | undefined {
    return this.vm.instructionCounts;
  }

  /** The instruction-count plugin's socket (lab/plugins/insn-count.ts), when it is loaded. */
  get insnPluginSocket(): string | undefined {
    return this.vm.insnPluginSocket;
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

  /** The guest's logs of a daemon (inet-servers, kea-dhcp6, unbound, radvd, dhclient, provisioning, …). */
  log(name: string): Promise<string> {
    return this.guest.readText(logFile(name));
  }

  /** Waits until a daemon's log (logFile(name)) matches `pattern`. */
  async waitForLog(name: string, pattern: RegExp, timeoutMs: number): Promise<void> {
    await waitFor(`${name} to start (${logFile(name)})`, timeoutMs, async () =>
      pattern.test(await this.log(name)) ? true : null,
    );
  }

  /** Waits until the CE holds `prefix` from DHCPv6-PD (the dhclient hook wrote it). */
  async waitForPrefix(prefix: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(`the CE to get ${prefix} by DHCPv6-PD`, timeoutMs, async () => {
      const text = (await this.guest.readText(FILES.ceDelegated)).trim();
      return text === prefix ? true : null;
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

  /** Everything inet recorded since the last clearRecords(). */
  async records(): Promise<InetRecord[]> {
    return parseJsonLines(await this.guest.readText(FILES.inetRecords));
  }

  async clearRecords(): Promise<void> {
    await this.guest.run(NS.inet, ["truncate", "-s", "0", FILES.inetRecords]);
  }

  async shutdown(): Promise<void> {
    await this.vm.stop();
    // Results stay for a failed run's post-mortem only when asked to.
    if (process.env.MAPECTL_LAB_KEEP !== "1")
      rmSync(join(this.resultsDir, ".."), { recursive: true, force: true });
  }
}
