import { resetCe } from "../ce-reset.ts";
import type { Lab } from "../lab.ts";
import { NS } from "../addresses.ts";
import { VyosConfig } from "./config.ts";
import { FIREWALL_INIT, commitTransaction, conntrackTables, kernelName, mssClampRule } from "./tables.ts";

/** Where VyOS keeps what survives reboots and image upgrades (the lab's overlay stands in for /config). */
export const POSTCONFIG_SCRIPT = "/config/scripts/vyos-postconfig-bootup.script";

/** VyOS's defaults for what the profile reads (interface-definitions/interfaces_tunnel.xml.in). */
const TUNNEL_DEFAULTS = { encaplimit: "4", mtu: "1476" } as const;

/** The route metric FRR's static routes get in the kernel (zebra's admin distance 1 → metric 20). */
const STATIC_METRIC = "20";

/**
 * A VyOS 1.4/1.5 router in the lab's CE namespace: configure-mode lines go into a candidate and
 * `commit` makes the kernel and nftables what VyOS would make them, through what VyOS itself runs:
 * `ip tunnel add|change … mode ipip6 …` (python/vyos/ifconfig/tunnel.py L69-74, L106-154), the MTU
 * after it (interface.py L1604-1605), FRR's static routes, and each of VyOS's own nft tables
 * deleted and loaded again (tables.ts), never touching another table.
 */
export class VyosRouter {
  private running = new VyosConfig();
  private saved = new VyosConfig();

  private readonly lab: Lab;

  constructor(lab: Lab) {
    this.lab = lab;
  }

  /** The committed configuration, as `show configuration commands` prints it. */
  commands(): string[] {
    return this.running.commands();
  }

  /** Applies configure-mode lines and commits them; `save` keeps them for the next boot. */
  async configure(lines: readonly string[], options: { save?: boolean } = {}): Promise<void> {
    const next = this.running.clone().apply(lines);
    await this.commit(this.running, next);
    this.running = next;
    if (options.save !== false) this.saved = next.clone();
  }

  /**
   * A reboot as src/init/vyos-router runs it: a clean kernel (no tunnels, addresses, tables or
   * conntrack entries), vyos-firewall-init.conf (L370), the conntrack tables of an empty
   * configuration (L379), the saved configuration committed (load_bootfile, L443), then the
   * postconfig script (L449-451).
   */
  async reboot(): Promise<{ script: string }> {
    await resetCe(this.lab.guest);
    await this.lab.exec(NS.ce, ["ip", "-6", "route", "flush", "dev", kernelName("eth1"), "proto", "static"]);
    await this.nft(FIREWALL_INIT + conntrackTables(new VyosConfig()));
    const empty = new VyosConfig();
    await this.commit(empty, this.saved);
    this.running = this.saved.clone();
    const r = await this.lab.exec(NS.ce, ["sh", POSTCONFIG_SCRIPT], { timeoutMs: 60_000 });
    return { script: `${r.stdout}${r.stderr}` };
  }

  /** A first boot of VyOS: its boot-time tables, nothing configured yet. */
  async firstBoot(): Promise<void> {
    await resetCe(this.lab.guest);
    await this.nft(FIREWALL_INIT + conntrackTables(new VyosConfig()));
  }

  private async nft(text: string): Promise<void> {
    await this.lab.run(NS.ce, ["nft", "-f", "-"], { input: text });
  }

  private async ip(argv: readonly string[]): Promise<void> {
    await this.lab.run(NS.ce, ["ip", ...argv]);
  }

  private async commit(before: VyosConfig, after: VyosConfig): Promise<void> {
    await this.ethernet(before, after);
    for (const tun of after.children(["interfaces", "tunnel"])) await this.tunnel(after, tun);
    await this.routes(before, after);
    await this.nft(commitTransaction(after));
    for (const tun of after.children(["interfaces", "tunnel"])) await this.mss(after, tun);
  }

  private async ethernet(before: VyosConfig, after: VyosConfig): Promise<void> {
    for (const eth of new Set([
      ...before.children(["interfaces", "ethernet"]),
      ...after.children(["interfaces", "ethernet"]),
    ])) {
      const path = ["interfaces", "ethernet", eth, "address"];
      const dev = kernelName(eth);
      const now = after.children(path);
      for (const gone of before.children(path).filter((a) => !now.includes(a)))
        await this.lab.exec(NS.ce, ["ip", "addr", "del", gone, "dev", dev]);
      for (const added of now.filter((a) => !before.children(path).includes(a)))
        await this.ip(["addr", "replace", added, "dev", dev]);
    }
    await this.waitForDad();
  }

  /** VyOS adds addresses without nodad: the tunnel's source is usable once DAD is done. */
  private async waitForDad(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const text = await this.lab.run(NS.ce, ["ip", "-6", "addr", "show", "tentative"]);
      if (text.trim() === "") return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async tunnel(config: VyosConfig, tun: string): Promise<void> {
    const base = ["interfaces", "tunnel", tun];
    const value = (...p: string[]) => config.value([...base, ...p]);
    const source = value("source-interface");
    const params = [
      "mode",
      "ipip6",
      "local",
      value("source-address") ?? "::",
      ...(source === null ? [] : ["dev", kernelName(source)]),
      "remote",
      value("remote") ?? "::",
      "tos",
      "inherit",
      "ttl",
      "64",
      "encaplimit",
      value("parameters", "ipv6", "encaplimit") ?? TUNNEL_DEFAULTS.encaplimit,
      "hoplimit",
      "64",
      "tclass",
      "inherit",
    ];
    const exists = (await this.lab.exec(NS.ce, ["ip", "link", "show", tun])).code === 0;
    await this.ip(["tunnel", exists ? "change" : "add", tun, ...params]);
    await this.ip(["link", "set", tun, "mtu", value("mtu") ?? TUNNEL_DEFAULTS.mtu]);
    // only what changed: removing a tunnel's last IPv4 address would take its routes with it
    const have = (await this.lab.run(NS.ce, ["ip", "-4", "-o", "addr", "show", "dev", tun]))
      .split("\n")
      .map((l) => /inet ([0-9./]+)/.exec(l)?.[1])
      .filter((a): a is string => a !== undefined);
    const want = config.children([...base, "address"]);
    for (const a of want.filter((w) => !have.includes(w))) await this.ip(["addr", "add", a, "dev", tun]);
    for (const a of have.filter((h) => !want.includes(h))) await this.ip(["addr", "del", a, "dev", tun]);
    await this.ip(["link", "set", tun, "up"]);
  }

  private async routes(before: VyosConfig, after: VyosConfig): Promise<void> {
    const r6 = ["protocols", "static", "route6"];
    for (const gone of before.children(r6).filter((d) => !after.children(r6).includes(d)))
      await this.lab.exec(NS.ce, ["ip", "-6", "route", "del", gone, "proto", "static"]);
    for (const dst of after.children(r6)) {
      const hop = after.value([...r6, dst, "next-hop"]);
      if (hop === null) continue;
      const dev = after.value([...r6, dst, "next-hop", hop, "interface"]);
      await this.ip([
        "-6",
        "route",
        "replace",
        dst,
        "via",
        hop,
        ...(dev === null ? [] : ["dev", kernelName(dev)]),
        "proto",
        "static",
        "metric",
        STATIC_METRIC,
      ]);
    }
    const r4 = ["protocols", "static", "route"];
    for (const dst of after.children(r4)) {
      const dev = after.value([...r4, dst, "interface"]);
      if (dev === null) continue;
      const to = dst === "0.0.0.0/0" ? "default" : dst;
      await this.ip([
        "route",
        "replace",
        to,
        "dev",
        kernelName(dev),
        "proto",
        "static",
        "metric",
        STATIC_METRIC,
      ]);
    }
  }

  /** `ip adjust-mss`: VyOS deletes the interface's rules in raw VYOS_TCP_MSS and adds the new one. */
  private async mss(config: VyosConfig, tun: string): Promise<void> {
    const listing = await this.lab.run(NS.ce, ["nft", "-a", "list", "chain", "ip", "raw", "VYOS_TCP_MSS"]);
    for (const m of listing.matchAll(new RegExp(`oifname "${tun}".* handle ([0-9]+)`, "g")))
      await this.lab.run(NS.ce, ["nft", "delete", "rule", "ip", "raw", "VYOS_TCP_MSS", "handle", m[1] ?? ""]);
    if (config.value(["interfaces", "tunnel", tun, "ip", "adjust-mss"]) === "clamp-mss-to-pmtu")
      await this.lab.run(NS.ce, [
        "nft",
        "add",
        "rule",
        "ip",
        "raw",
        "VYOS_TCP_MSS",
        ...mssClampRule(tun).split(" "),
      ]);
  }
}
