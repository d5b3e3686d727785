import assert from "node:assert/strict";
import { after, test } from "node:test";
import { NS } from "../../lab/addresses.ts";
import { startWatch, type WatchDaemon } from "../../lab/traffic.ts";
import { runScenario } from "../../lab/scenarios/index.ts";
import { vyos } from "../../lab/scenarios/vyos.ts";
import { POSTCONFIG_SCRIPT, VyosRouter } from "../../lab/vyos/router.ts";
import { failedProbes, probeLine, renderedVyos, type LineIpv4 } from "../../lab/vyos/rehearse.ts";
import type { Finding } from "../../src/diagnose/findings.ts";
import { useLab } from "../helpers/lab.ts";

// The seed user's line, and the prefix it changes to (same BIGLOBE rule, the next PSID).
const FIRST = { prefix: "2404:7a82:4d02:4100::/56", ipv4: "133.209.13.2", psid: 65 };
const SECOND = { prefix: "2404:7a82:4d03:4200::/56", ipv4: "133.209.13.3", psid: 66 };
const line = (l: { ipv4: string; psid: number }): LineIpv4 => ({ ...l, psidOffset: 4, psidLength: 8 });
const BOOT_FILE = "/config/mapectl/mapectl.nft";
/** The user's own NAT rule for another interface: a `nat` node, which alone keeps conntrack on. */
const USER_NAT = [
  "set nat source rule 100 outbound-interface name eth2",
  "set nat source rule 100 translation address masquerade",
];

const { skip, lab } = useLab({ prefix: FIRST.prefix, strictEncapLimit: true, needsBundle: true });
let router: VyosRouter;
let rendered: string[] = [];
/** What `mapectl install` left in the boot file, before anything else wrote it. */
let installedTable = "";
/** The daemon the prefix-change tests share. */
let watch: WatchDaemon | null = null;
after(async () => {
  // the lab may be shut down already, and the daemon with it
  await watch?.stop().catch(() => undefined);
});

async function works(l: { ipv4: string; psid: number }, quick = false): Promise<void> {
  const probes = await probeLine(lab(), line(l), quick);
  assert.equal(failedProbes(probes), "", probes.map((p) => `${p.name}: ${p.detail}`).join("\n"));
}

async function lanPingFails(): Promise<void> {
  const r = await lab().exec(NS.lan, ["ping", "-n", "-c", "2", "-W", "2", "8.8.8.8"], { timeoutMs: 30_000 });
  assert.notEqual(r.code, 0, "ping from lan got an answer");
}

async function doctor(): Promise<Finding[]> {
  const r = await lab().mapectl(NS.ce, ["doctor", "--json", "--vyos"], { timeoutMs: 120_000 });
  assert.ok(r.code === 0 || r.code === 6, `doctor exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
}

const failures = (findings: readonly Finding[]) => findings.filter((f) => f.verdict === "fail");

/** mapectl's tables: ip, and netdev where the fold sits on the tunnel device (with the fast path). */
async function napt(): Promise<string> {
  const ip = await lab().run(NS.ce, ["nft", "list", "table", "ip", "mapectl"]);
  const netdev = await lab().exec(NS.ce, ["nft", "list", "table", "netdev", "mapectl"]);
  return netdev.code === 0 ? `${ip}\n${netdev.stdout}` : ip;
}

test(
  "the rendered lines committed on the VyOS profile and mapectl install: ping, TCP, UDP and DNS from LAN and router through the strict BR, from PSID 65's ports",
  { skip },
  async () => {
    const l = lab();
    router = new VyosRouter(l);
    await router.firstBoot();
    rendered = (await renderedVyos(l, FIRST.prefix)).lines;
    assert.ok(rendered.includes("set firewall global-options state-policy established action accept"));
    await router.configure([...USER_NAT, ...rendered]);
    const install = await l.mapectl(
      NS.ce,
      ["install", "--target", "vyos", "--wan", "wan0", "--lan", "lan0"],
      {
        timeoutMs: 120_000,
      },
    );
    assert.equal(install.code, 0, install.stderr);
    installedTable = await l.guest.readText(BOOT_FILE).catch(() => "");
    // render --output-dir writes the same table file (and merges the boot block install made)
    const files = await l.mapectl(
      NS.ce,
      ["render", "--target", "vyos", "--prefix", FIRST.prefix, "--wan", "eth1", "--output-dir", "/"],
      { timeoutMs: 90_000 },
    );
    assert.equal(files.code, 0, files.stderr);
    assert.match(
      await l.guest.readText(POSTCONFIG_SCRIPT),
      /# BEGIN mapectl[\s\S]*nft -f \/config\/mapectl\/mapectl\.nft/,
    );
    // as render says: load it now from op mode (the boot hook does it from then on)
    await l.run(NS.ce, ["nft", "-f", BOOT_FILE]);
    await works(FIRST);
    const findings = await doctor();
    assert.deepEqual(failures(findings), [], JSON.stringify(failures(findings), null, 1));
    for (const id of ["conntrack-off", "firewall-drops", "boot-table-stale"])
      assert.equal(findings.find((f) => f.id === id)?.verdict, "ok", id);
  },
);

test(
  "the last nat rule deleted and committed: conntrack stays on thanks to the state-policy, traffic still flows",
  { skip },
  async () => {
    await router.configure(["delete nat"]);
    const ct = await lab().run(NS.ce, ["nft", "list", "chain", "ip", "vyos_conntrack", "FW_CONNTRACK"]);
    assert.match(ct, /accept/);
    assert.doesNotMatch(await lab().run(NS.ce, ["nft", "list", "tables"]), /vyos_nat/);
    await works(FIRST, true);
  },
);

test(
  "without the conntrack lines: doctor names conntrack-off first, and its VyOS fix brings traffic back",
  { skip },
  async () => {
    await router.configure(["delete firewall global-options state-policy"]);
    await lanPingFails();
    const first = failures(await doctor())[0];
    assert.equal(first?.id, "conntrack-off", JSON.stringify(first));
    assert.ok(first.vyosFix?.includes("set firewall global-options state-policy established action accept"));
    await router.configure(first.vyosFix ?? []);
    await works(FIRST, true);
    assert.equal((await doctor()).find((f) => f.id === "conntrack-off")?.verdict, "ok");
  },
);

test(
  "a reboot replayed (VyOS's tables from its configuration, then the postconfig hook loading the boot file) works",
  { skip },
  async () => {
    await router.reboot();
    assert.match(await napt(), /16 : 5136,/);
    await works(FIRST, true);
  },
);

test(
  "a forward filter with default drop and no state-policy: doctor names firewall-drops, its fix works",
  { skip },
  async () => {
    await router.configure([
      ...USER_NAT,
      "delete firewall global-options state-policy",
      "set firewall ipv4 forward filter default-action drop",
      "set firewall ipv4 forward filter rule 10 action accept",
      "set firewall ipv4 forward filter rule 10 inbound-interface name eth0",
    ]);
    await lanPingFails();
    const first = failures(await doctor())[0];
    assert.equal(first?.id, "firewall-drops", JSON.stringify(first));
    assert.match(first.summary, /VYOS_FORWARD_filter .* drops the replies coming back from tun0/);
    await router.configure(first.vyosFix ?? []);
    await works(FIRST, true);
    assert.equal((await doctor()).find((f) => f.id === "firewall-drops")?.verdict, "ok");
    await router.configure(["delete firewall ipv4", "delete nat"]);
  },
);

test(
  "an IPv6 input filter with default drop and no rule for the BR: doctor names firewall-drops, its fix works",
  { skip },
  async () => {
    await router.configure([
      ...USER_NAT,
      "delete firewall global-options state-policy",
      "set firewall ipv6 input filter default-action drop",
      "set firewall ipv6 input filter rule 20 action accept",
      "set firewall ipv6 input filter rule 20 protocol ipv6-icmp",
    ]);
    await lanPingFails();
    const first = failures(await doctor())[0];
    assert.equal(first?.id, "firewall-drops", JSON.stringify(first));
    assert.match(first.summary, /drops the BR's IPv4-in-IPv6 packets/);
    assert.ok(
      first.vyosFix?.includes("set firewall ipv6 input filter rule 15 protocol 4"),
      first.vyosFix?.join("\n"),
    );
    await router.configure(first.vyosFix ?? []);
    await works(FIRST, true);
    assert.equal((await doctor()).find((f) => f.id === "firewall-drops")?.verdict, "ok");
    await router.configure(["delete firewall ipv6", "delete nat", ...rendered]);
    await works(FIRST, true);
  },
);

test(
  "a prefix change with the daemon running: the NAPT follows at once, the lagging VyOS lines are named, the boot file is rewritten",
  { skip },
  async () => {
    const l = lab();
    watch = await startWatch(l, ["--config", "/config/mapectl/config.toml"]);
    await watch.waitForLine(/start: applied /, 120_000);
    const from = (await watch.log()).length;
    await l.isp.setPrefix(SECOND.prefix);
    const drift = await watch.waitForLine(/VyOS's configuration does not match the prefix/, 120_000, from);
    assert.match(drift, /tun0 lacks the IPv4 address 133\.209\.13\.3\/32/);
    assert.match(drift, /mapectl render --target vyos/);
    // the fold allocator (the default): allocated from 16-255, port 16 leaves as PSID 66's first
    assert.match(await napt(), /snat to 133\.209\.13\.3:16-255/, "the NAPT followed at once");
    assert.match(await napt(), /16 : 5152,/, "the NAPT followed at once");
    const boot = await l.guest.readText(BOOT_FILE);
    assert.match(boot, /snat ip to 133\.209\.13\.3:16-255/, "the boot file was rewritten");
    assert.match(boot, /16 : 5152,/, "the boot file was rewritten");
  },
);

test(
  "the new rendered lines committed: the daemon says VyOS is in sync, traffic flows from PSID 66's ports, doctor finds nothing",
  { skip },
  async () => {
    const l = lab();
    assert.ok(watch !== null, "the daemon of the previous test runs");
    // the user pastes the new lines, the old addresses deleted first as render says
    const oldAddresses = rendered
      .filter((x) => x.startsWith("set interfaces") && / address [0-9a-f:.]+\/(128|32)$/.test(x))
      .map((x) => x.replace(/^set /, "delete "));
    rendered = (await renderedVyos(l, SECOND.prefix)).lines;
    const from = (await watch.log()).length;
    await router.configure([...oldAddresses, ...rendered]);
    await watch.waitForLine(/VyOS's configuration matches the plan again/, 120_000, from);
    await works(SECOND);
    const findings = await doctor();
    assert.deepEqual(failures(findings), [], JSON.stringify(failures(findings), null, 1));
  },
);

test(
  "a reboot after the prefix change the daemon handled: the boot hook loads the new prefix's table, traffic flows",
  { skip },
  async () => {
    await watch?.stop();
    watch = null;
    await router.reboot();
    const table = await napt();
    assert.match(table, /snat to 133\.209\.13\.3:16-255/);
    assert.match(table, /16 : 5152,/);
    await works(SECOND, true);
  },
);

test("mapectl install wrote the boot file with the table of the prefix it was installed on", { skip }, () => {
  assert.match(installedTable, /16 : 5136,/, `${BOOT_FILE} after install: ${installedTable || "missing"}`);
});

test(
  "mapectl lab run vyos: the rehearsal passes every check on the prefix the lab delegates now",
  { skip },
  async () => {
    await watch?.stop();
    watch = null;
    const report = await runScenario(lab(), vyos);
    const failed = report.checks.filter((c) => !c.passed);
    assert.deepEqual(failed, [], JSON.stringify(failed, null, 1));
    assert.ok(report.passed && report.checks.length >= 10, `${report.checks.length} checks`);
  },
);
