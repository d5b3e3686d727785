import { join } from "node:path";
import { AFTR_ADDRESS, AFTR_NAME, CE, GUEST, NGN, NS, type NamespaceName } from "./addresses.ts";
import { countedDrops, type BrOptions, type ServedCe } from "./border-relays.ts";
import type { Lab } from "./lab.ts";
import { keaConfig, unboundConfig, v6migAnswer, v6migTxt } from "./ngn-config.ts";
import { parseJson, parseJsonLines } from "./parse-json.ts";
import {
  buildLinks,
  dhclientArgv,
  FILES,
  loadBorderRelays,
  logFile,
  startServices,
  type Daemons,
} from "./topology.ts";
import { waitFor } from "./wait.ts";

export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * The ISP's side of a lab: the line (links, Kea's DHCPv6-PD, RA, DNS), the BRs and the HB46PP
 * server, and the controls a test turns: a new delegated prefix, another provisioning answer or
 * TXT record, strict BRs; and what the BRs and the provisioning server saw.
 */
export class Isp {
  private readonly lab: Lab;
  private served: ServedCe[] = [];
  private brOptions: BrOptions;
  private daemons: Daemons = {};
  private currentPrefix: string;
  /** What the lab's DNS serves: 4over6.info's TXT record and the AFTR's address. */
  private txt: string | null = v6migTxt();
  private aftrAddress: string = AFTR_ADDRESS;

  constructor(lab: Lab, prefix: string, brOptions: BrOptions) {
    this.lab = lab;
    this.currentPrefix = prefix;
    this.brOptions = brOptions;
  }

  /** The /56 delegated to the CE now. */
  get prefix(): string {
    return this.currentPrefix;
  }

  /** The CEs the BRs serve now (one per delegated prefix), with what each BR accepts. */
  get servedCes(): readonly ServedCe[] {
    return this.served;
  }

  /** Builds the links and starts every service, then the CE's DHCPv6 client; returns once the CE holds its /56. */
  async start(log: (line: string) => void): Promise<void> {
    const { guest, repo, pki } = this.lab;
    const t0 = Date.now();
    const mark = (what: string): void => {
      log(`lab: ${what} at +${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    await buildLinks(guest);
    mark("links");
    const [served, daemons] = await Promise.all([
      loadBorderRelays(guest, [this.currentPrefix], this.brOptions, []),
      startServices(guest, repo, pki, this.currentPrefix),
      this.routeDelegatedPrefix(),
    ]);
    this.served = served;
    this.daemons = daemons;
    mark("BRs loaded, services started");
    await this.lab.waitForLog("kea-dhcp6", /DHCP6_STARTED/, 30_000);
    mark("kea up");
    if (!this.lab.ceDhcpClient) {
      await Promise.all([
        this.lab.waitForLog("inet-servers", /inet servers ready/, 30_000),
        this.lab.waitForLog("provisioning", /provisioning server ready/, 30_000),
      ]);
      mark("line ready, no CE client");
      return;
    }
    await this.startDhclient();
    await Promise.all([
      this.lab.waitForPrefix(this.currentPrefix, 60_000).then(() => {
        mark("prefix delegated");
      }),
      this.waitForDefaultRoute(30_000).then(() => {
        mark("RA default route");
      }),
      this.lab.waitForLog("inet-servers", /inet servers ready/, 30_000).then(() => {
        mark("inet servers");
      }),
      this.lab.waitForLog("provisioning", /provisioning server ready/, 30_000),
    ]);
  }

  private async startDhclient(): Promise<void> {
    this.daemons.dhclient = await this.lab.guest.start(
      NS.ce,
      "dhclient",
      dhclientArgv(this.lab.repo),
      logFile("dhclient"),
    );
  }

  /** What the ISP's DHCPv6 relay does on delegation: route the /56 to the CE's link-local address. */
  private async routeDelegatedPrefix(previous?: string): Promise<void> {
    if (previous !== undefined && previous !== this.currentPrefix) {
      await this.lab.exec(NS.ngn, ["ip", "-6", "route", "del", previous]);
    }
    await this.lab.run(NS.ngn, [
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

  private async waitForDefaultRoute(timeoutMs: number): Promise<void> {
    await waitFor(
      "the CE's default route from RA",
      timeoutMs,
      async () => {
        const routes = parseJson(
          await this.lab.run(NS.ce, ["ip", "-6", "-j", "route", "show", "default"]),
          "ip route",
        );
        return routes.length > 0 ? true : null;
      },
      500,
    );
  }

  /** The BRs' named counters (`<br>_<reason>`, e.g. jpne_unknown_ce), since the BRs were last loaded. */
  async counters(): Promise<Record<string, Counter>> {
    const text = await this.lab.run(NS.br, ["nft", "-j", "list", "counters"]);
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
    await this.lab.run(NS.br, ["nft", "reset", "counters", "table", "inet", "mapebr"]);
  }

  /** Reloads the BRs (resets their counters), optionally as strict BRs that drop a Destination Options header. */
  async setBrOptions(options: Partial<BrOptions> = {}): Promise<void> {
    this.brOptions = { ...this.brOptions, ...options };
    this.served = await loadBorderRelays(this.lab.guest, [this.currentPrefix], this.brOptions, this.served);
  }

  /** What the HB46PP server was asked (one entry per request, with the query string fields). */
  async provisioningRequests(): Promise<Record<string, unknown>[]> {
    return parseJsonLines(await this.lab.guest.readText(FILES.provisioningLog));
  }

  /** Replaces the HB46PP answer (null: the shipped rules for the current prefix). */
  async setProvisioning(answer: Record<string, unknown> | null): Promise<void> {
    await this.lab.guest.writeFile(
      FILES.v6mig,
      JSON.stringify(answer ?? v6migAnswer(this.currentPrefix), null, 2),
    );
  }

  /**
   * Replaces the TXT record of 4over6.info (null: none, so NXDOMAIN) by reloading unbound with
   * SIGHUP rather than restarting it, so a daemon asking meanwhile meets a resolver that answers,
   * not a DNS error; returns once the line's resolver gives the new answer.
   */
  async reloadV6migTxt(txt: string | null = v6migTxt()): Promise<void> {
    this.txt = txt;
    await this.reloadUnbound();
    const expected = txt === null ? "NXDOMAIN" : "its TXT";
    await waitFor(`4over6.info to answer ${expected}`, 30_000, async () => {
      const r = await this.askDns("TXT", "4over6.info");
      const status = /status: (\w+)/.exec(r)?.[1];
      return (txt === null ? status === "NXDOMAIN" : status === "NOERROR" && r.includes("v6mig"))
        ? true
        : null;
    });
  }

  /**
   * Moves the AFTR's name to another address (the lab's DNS answers the new AAAA), as a VNE does
   * when it renumbers or replaces an AFTR; returns once the line's resolver gives the new answer.
   */
  async setAftrAddress(address: string): Promise<void> {
    this.aftrAddress = address;
    await this.reloadUnbound();
    await waitFor(`${AFTR_NAME} to answer ${address}`, 30_000, async () => {
      const r = await this.askDns("AAAA", AFTR_NAME, "+short");
      return r.trim() === address ? true : null;
    });
  }

  private async reloadUnbound(): Promise<void> {
    const { guest } = this.lab;
    await guest.writeFile(FILES.unbound, unboundConfig(GUEST.runDir, this.txt, this.aftrAddress));
    const unbound = (await guest.daemons()).find((d) => d.name === "unbound" && d.exit === null);
    if (unbound === undefined) throw new Error("unbound is not running in the ngn namespace");
    await this.lab.run(null, ["kill", "-HUP", String(unbound.pid)]);
  }

  /** The line's resolver asked from the CE, as the router asks it; kdig's output. */
  private async askDns(type: string, name: string, ...flags: string[]): Promise<string> {
    const argv = ["kdig", `@${NGN.dns}`, "+timeout=2", "+retry=0", ...flags, type, name];
    return (await this.lab.exec(NS.ce, argv)).stdout;
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
    const { guest, repo } = this.lab;
    const previous = this.currentPrefix;
    this.currentPrefix = prefix;
    await this.routeDelegatedPrefix(previous);
    await guest.writeFile(FILES.kea, JSON.stringify(keaConfig(prefix, FILES.keaDir), null, 2));
    await guest.writeFile(FILES.v6mig, JSON.stringify((provisioning ?? v6migAnswer)(prefix), null, 2));
    await guest.writeFile(logFile("kea-dhcp6"), "");
    if (this.lab.ceDhcpClient) {
      // The client releases the old lease first (its hook removes the old /56 and LAN address), as
      // a router does when its line goes down; killing it would leave them behind.
      await this.lab.exec(NS.ce, dhclientArgv(repo, ["-r"]), { timeoutMs: 20_000 });
      const dhclient = this.daemons.dhclient;
      if (dhclient !== undefined) await guest.stop(dhclient);
    }
    await this.restartDaemon("kea-dhcp6", NS.ngn, ["kea-dhcp6", "-c", FILES.kea], {
      KEA_LOCKFILE_DIR: "none",
      KEA_PIDFILE_DIR: FILES.keaDir,
    });
    this.served = await loadBorderRelays(guest, [prefix], this.brOptions, this.served);
    await this.lab.waitForLog("kea-dhcp6", /DHCP6_STARTED/, 30_000);
    if (!this.lab.ceDhcpClient) {
      await this.reconnectLine(prefix, timeoutMs);
      return;
    }
    await guest.writeFile(join(GUEST.runDir, "dhclient6.leases"), "");
    await this.startDhclient();
    await this.lab.waitForPrefix(prefix, timeoutMs);
  }

  /**
   * For a CE with its own DHCPv6 client (the router system): the line drops for two seconds, as a
   * reconnect does, so the client loses carrier and asks again; returns once the CE holds `prefix`
   * (its client's unreachable route for it).
   */
  private async reconnectLine(prefix: string, timeoutMs: number): Promise<void> {
    await this.lab.run(NS.ngn, ["ip", "link", "set", NGN.cePort, "down"]);
    await new Promise((r) => setTimeout(r, 2000));
    await this.lab.run(NS.ngn, ["ip", "link", "set", NGN.cePort, "up"]);
    await waitFor(`the CE to get ${prefix} by DHCPv6-PD`, timeoutMs, async () => {
      const r = await this.lab.exec(NS.ce, ["ip", "-6", "route", "show", "type", "unreachable", prefix]);
      return r.stdout.includes(prefix.split("/")[0] ?? prefix) ? true : null;
    });
  }

  private async restartDaemon(
    name: string,
    ns: NamespaceName,
    argv: string[],
    env?: Record<string, string>,
  ): Promise<void> {
    const pid = this.daemons[name];
    if (pid !== undefined) await this.lab.guest.stop(pid);
    this.daemons[name] = await this.lab.guest.start(ns, name, argv, logFile(name), env);
  }
}
