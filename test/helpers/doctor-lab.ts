import assert from "node:assert/strict";
import { after, test } from "node:test";
import { BORDER_RELAYS, CE, DEFAULT_PREFIX, INET, NGN, NS } from "../../lab/addresses.ts";
import { capture } from "../../lab/capture.ts";
import { resetCe } from "../../lab/ce-reset.ts";
import { applyReferenceCeWithNat, type NatVariant } from "../../lab/faults.ts";
import type { Lab } from "../../lab/lab.ts";
import { applyReferenceCe, type ReferenceCeOptions } from "../../lab/reference-ce.ts";
import { httpFromLan, pingFromLan } from "../../lab/scenarios/probes.ts";
import { sleep } from "../../lab/wait.ts";
import type { Finding } from "../../src/diagnose/findings.ts";
import { computeParameters } from "../../src/mape/compute.ts";
import { formatIpv6, parseIpv6Prefix } from "../../src/mape/ipv6.ts";
import { resolveParameters } from "../../src/provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../src/rules/shipped.ts";
import { checkSet, loadSchema } from "../unit/render/vyos-schema.ts";
import { useLab } from "./lab.ts";

// The harness of test/lab/doctor.test.ts: one VM, `mapectl doctor --json` run in the ce namespace,
// the assertions every fault scenario shares, and the CE each scenario starts from.

export const JPNE_BR = BORDER_RELAYS.find((b) => b.id === "jpne")?.address ?? "";
export const BIGLOBE_BR = BORDER_RELAYS.find((b) => b.id === "biglobe_east")?.address ?? "";
const UP = ["up", "--wan", CE.wan, "--lan", CE.lan];

export interface DoctorDoc {
  schemaVersion: number;
  ok: boolean;
  tunnel: string | null;
  findings: Finding[];
}

export type CeKind = "mapectl" | "reference";

export const failures = (doc: DoctorDoc): Finding[] => doc.findings.filter((f) => f.verdict === "fail");
export const brief = (doc: DoctorDoc): string =>
  failures(doc)
    .map((f) => `[${f.id}] ${f.summary}`)
    .join("\n");

/**
 * Boots the lab with strict BRs (they drop a Destination Options header: encaplimit matters) and
 * mapectl on PATH (fixes may say `mapectl up` / `mapectl down`: on a router it is there). One VM
 * for the file.
 */
export function useDoctorLab(): { skip: string | false; doctor: DoctorLab } {
  const { skip, lab } = useLab({
    strictEncapLimit: true,
    onBoot: async (l) => {
      await l.guest.writeFile(
        "/usr/local/sbin/mapectl",
        `#!/bin/sh\nNODE_EXTRA_CA_CERTS=/etc/mapectl/lab-ca.pem exec ${process.execPath} ${l.repo}/dist/mapectl.cjs "$@"\n`,
        0o755,
      );
    },
  });
  const doctor = new DoctorLab(lab, skip);
  after(() => {
    doctor.printTimings();
  });
  return { skip, doctor };
}

/**
 * The scenarios' helpers over the one lab, and the state they hand on to each other: the CE left
 * healthy for the next scenario of its kind, whether mapectl applied, the ids proven first.
 */
export class DoctorLab {
  readonly provenFirst = new Set<string>();
  private readonly timings: string[] = [];
  private readonly runs = { count: 0, ms: 0 };
  /** Whether mapectl's state may exist (then `mapectl down` must forget it, or doctor would see it). */
  private mapectlApplied = false;
  /** The CE a scenario left healthy for the next one of its kind; null: the next one rebuilds. */
  private current: CeKind | null = null;

  readonly booted: () => Lab;
  private readonly skip: string | false;

  constructor(booted: () => Lab, skip: string | false) {
    this.booted = booted;
    this.skip = skip;
  }

  printTimings(): void {
    if (this.timings.length === 0) return;
    const lab = this.booted();
    console.log(
      `doctor lab timings (boot ${lab.bootSeconds.toFixed(1)} s + topology ${lab.topologySeconds.toFixed(1)} s; ` +
        `${this.runs.count} doctor --json runs took ${(this.runs.ms / 1000).toFixed(1)} s):\n  ${this.timings.join("\n  ")}`,
    );
  }

  /** One scenario as a test, timed, so the file's runtime can be read per scenario. */
  scenario(name: string, body: () => Promise<void>): void {
    test(name, { skip: this.skip }, async () => {
      const started = Date.now();
      try {
        await body();
      } finally {
        this.timings.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${name}`);
      }
    });
  }

  async run(args: string[] = []): Promise<{ code: number; doc: DoctorDoc; stdout: string }> {
    const started = Date.now();
    const r = await this.booted().mapectl(NS.ce, ["doctor", "--json", ...args], { timeoutMs: 90_000 });
    this.runs.count++;
    this.runs.ms += Date.now() - started;
    let doc: DoctorDoc;
    try {
      doc = JSON.parse(r.stdout) as DoctorDoc;
    } catch {
      throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
    }
    return { code: r.code, doc, stdout: r.stdout };
  }

  /** Doctor finds nothing wrong: exit 0 and no failing finding. */
  async assertClean(what: string, args: string[] = []): Promise<DoctorDoc> {
    const { code, doc } = await this.run(args);
    assert.deepEqual(
      failures(doc).map((f) => f.id),
      [],
      `${what}: doctor reports no failure\n${brief(doc)}`,
    );
    assert.equal(code, 0, `${what}: doctor exits 0`);
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.ok, true);
    return doc;
  }

  /** Doctor exits 6 and names `id` first, with a fix to run; returns that finding. */
  async assertFirst(id: string, args: string[] = []): Promise<{ finding: Finding; doc: DoctorDoc }> {
    const { code, doc } = await this.run(args);
    const first = doc.findings[0];
    assert.equal(first?.id, id, `the first finding is ${id}\n${brief(doc)}`);
    assert.equal(first.verdict, "fail");
    assert.equal(code, 6, "doctor exits 6 when a check fails");
    assert.ok(
      first.fix.some((line) => line.trim() !== "" && !line.trim().startsWith("#")),
      `${id} has a fix to run: ${JSON.stringify(first.fix)}`,
    );
    this.provenFirst.add(id);
    return { finding: first, doc };
  }

  /** Runs a finding's fix exactly as printed: its lines, one shell script, in the ce namespace. */
  async runFix(finding: Finding): Promise<void> {
    const script = finding.fix.join("\n");
    const r = await this.booted().exec(NS.ce, ["sh", "-ec", script], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `the fix of ${finding.id} runs as printed:\n${script}\n${r.stdout}${r.stderr}`);
  }

  /** Ping and HTTP from lan to inet work (waiting out DAD of an address a fix just added). */
  async assertPathWorks(what: string): Promise<void> {
    const l = this.booted();
    let ping = await pingFromLan(l);
    for (let i = 0; i < 6 && !ping.ok; i++) {
      await sleep(1000);
      ping = await pingFromLan(l, INET.hosts[0], 2);
    }
    assert.ok(ping.ok, `${what}: ping from lan works (${ping.detail})`);
    const http = await httpFromLan(l);
    assert.ok(http.ok, `${what}: HTTP from lan works (${http.detail})`);
  }

  async assertPathBroken(what: string): Promise<void> {
    const ping = await this.booted().exec(
      NS.lan,
      ["ping", "-n", "-c", "2", "-i", "0.3", "-W", "2", INET.hosts[0]],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(ping.code, 0, `${what}: ping from lan fails before the fix\n${ping.stdout}`);
  }

  async mapectlUp(l: Lab): Promise<void> {
    this.mapectlApplied = true;
    const r = await l.mapectl(NS.ce, UP, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `mapectl up: ${r.stdout}${r.stderr}`);
  }

  /** The CE as it booted: no MAP-E at all, no leftovers of the previous scenario. */
  async fresh(): Promise<Lab> {
    const l = this.booted();
    this.current = null;
    if (this.mapectlApplied) await l.mapectl(NS.ce, ["down", "--quiet"], { timeoutMs: 90_000 });
    this.mapectlApplied = false;
    await resetCe(l.guest);
    await l.exec(NS.ce, ["ip", "-6", "neigh", "flush", "dev", CE.wan]);
    // resetCe accepts the RA default route again; after a scenario that took it away it comes back
    // with the next RA (radvd sends one every 3-10 s), and `mapectl up` needs it
    for (let i = 0; i < 30; i++) {
      if ((await l.run(NS.ce, ["ip", "-6", "route", "show", "default", "dev", CE.wan])).trim() !== "") break;
      await sleep(500);
    }
    await l.isp.resetCounters();
    return l;
  }

  /**
   * A working CE of the given kind. Scenarios of one group share it: each leaves it healthy (its
   * last step proves doctor clean), so the next starts from a working CE without a rebuild; after a
   * failed scenario the next one rebuilds.
   */
  async workingCe(kind: CeKind): Promise<Lab> {
    const l = this.booted();
    if (this.current === kind) {
      this.current = null; // set again only when this scenario ends well
      return l;
    }
    await this.fresh();
    if (l.prefix !== DEFAULT_PREFIX) await l.isp.setPrefix(DEFAULT_PREFIX);
    if (kind === "mapectl") await this.mapectlUp(l);
    else await applyReferenceCe(l, l.prefix);
    await l.isp.resetCounters();
    return l;
  }

  /** The reference CE with a configuration fault (or a NAT variant); the scenario's own CE. */
  async referenceWith(options: ReferenceCeOptions, nat?: NatVariant): Promise<Lab> {
    const l = await this.fresh();
    if (l.prefix !== DEFAULT_PREFIX) await l.isp.setPrefix(DEFAULT_PREFIX);
    if (nat === undefined) await applyReferenceCe(l, l.prefix, options);
    else await applyReferenceCeWithNat(l, nat, options);
    await l.isp.resetCounters();
    return l;
  }

  healthy(kind: CeKind): void {
    this.current = kind;
  }

  /** The fault-to-fix loop every scenario shares: named first, fixed as printed, path and doctor clean. */
  async faultFixed(id: string, what: string, kind: CeKind | null): Promise<Finding> {
    const { finding } = await this.assertFirst(id);
    await this.fixed(finding, what, kind);
    return finding;
  }

  /** Runs the finding's fix; then the path works and doctor is clean (the CE is healthy again). */
  async fixed(finding: Finding, what: string, kind: CeKind | null): Promise<void> {
    await this.runFix(finding);
    await this.assertPathWorks(`after the ${finding.id} fix (${what})`);
    await this.assertClean(`after the ${finding.id} fix (${what})`);
    if (kind !== null) this.healthy(kind);
  }

  /** Runs the first finding's fix, then doctor again, until nothing fails (at most 6 fixes). */
  async fixUntilClean(start: {
    code: number;
    doc: DoctorDoc;
  }): Promise<{ ran: string[]; code: number; doc: DoctorDoc }> {
    const ran: string[] = [];
    let now = start;
    while (now.doc.findings[0]?.verdict === "fail" && ran.length < 6) {
      const first = now.doc.findings[0];
      ran.push(first.id);
      await this.runFix(first);
      now = await this.run();
    }
    return { ran, ...now };
  }
}

/** Whether the CE's own ping and HTTP (not the LAN's) get out. */
export async function ownTraffic(l: Lab): Promise<{ ping: boolean; http: boolean }> {
  const ping = await l.exec(NS.ce, ["ping", "-n", "-c", "2", "-W", "2", INET.hosts[0]], {
    timeoutMs: 30_000,
  });
  const http = await l.exec(NS.ce, ["curl", "-sS", "-m", "3", `http://${INET.hosts[2]}/`], {
    timeoutMs: 30_000,
  });
  return { ping: ping.code === 0, http: http.code === 0 };
}

/** The MSS of the TCP SYN inet receives for one HTTP request from lan. */
export async function synMss(l: Lab): Promise<number> {
  const pcap = await capture(l, NS.inet, "br0", [
    "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0",
  ]);
  const http = await httpFromLan(l);
  assert.ok(http.ok, http.detail);
  await sleep(1100); // libpcap hands packets to tcpdump up to 1 s late
  const file = await pcap.stop();
  const text = (await l.exec(NS.inet, ["tcpdump", "-n", "-r", file])).stdout;
  const mss = /mss ([0-9]+)/.exec(text);
  assert.ok(mss !== null, `a SYN reached inet: ${text}`);
  return Number(mss[1]);
}

/** The lab ISP's counters (lab/isp.ts names them: a BR's decap or drops) counted packets. */
export async function assertCounted(l: Lab, counters: readonly string[], what: string): Promise<void> {
  const now = await l.isp.counters();
  const packets = counters.reduce((sum, name) => sum + (now[name]?.packets ?? 0), 0);
  assert.ok(packets > 0, what);
}

/**
 * The --vyos fix of the seed's configuration: the tunnel's remote, encaplimit and MSS clamp as set
 * commands VyOS accepts (the seed's WAN is eth1: VyOS names Ethernet interfaces ethN, so the lab's
 * wan0 is checked as eth1), the BR route only as a comment, and the seed's NAT rules deleted.
 */
export function assertSeedVyosFix(vyos: readonly string[]): void {
  const schema = loadSchema([
    "interfaces_tunnel.xml.in",
    "interfaces_ethernet.xml.in",
    "protocols_static.xml.in",
  ]);
  const sets = vyos.filter((line) => line.startsWith("set "));
  for (const line of [
    `set interfaces tunnel tun0 remote ${BIGLOBE_BR}`,
    "set interfaces tunnel tun0 parameters ipv6 encaplimit none",
    "set interfaces tunnel tun0 ip adjust-mss clamp-mss-to-pmtu",
  ])
    assert.ok(sets.includes(line), `VyOS fix has: ${line}\n${vyos.join("\n")}`);
  // The BR is left to the WAN's RA default route (it follows the NGN's router); the pinned route6
  // is only offered as a commented alternative, as render --target vyos gives it.
  const pin = `set protocols static route6 ${BIGLOBE_BR}/128 next-hop ${NGN.routerLinkLocal} interface ${CE.wan}`;
  assert.ok(!sets.includes(pin), `no live route6 pin:\n${vyos.join("\n")}`);
  assert.ok(
    vyos.some((line) => line.startsWith("# ") && line.endsWith(pin)),
    `the pin as a comment:\n${vyos.join("\n")}`,
  );
  for (const line of sets) assert.equal(checkSet(schema, line.replaceAll(CE.wan, "eth1")), null, line);
  assert.ok(vyos.includes("delete nat source rule 200") && vyos.includes("delete nat source rule 210"));
}

/** The CE address the shipped rules give the /56 (`right`, with the rule's interface ID) and the one RFC 7597's would give. */
export function ceAddresses(prefix: string): { interfaceId: string; right: string; rfc: string } {
  const { params } = resolveParameters({
    prefix: parseIpv6Prefix(prefix),
    table: shippedRuleTable(),
    notMape: shippedNotMape(),
  });
  const rfc = computeParameters(params.endUserPrefix, params.rule, "rfc7597").ceAddress;
  return { interfaceId: params.interfaceId, right: formatIpv6(params.ceAddress), rfc: formatIpv6(rfc) };
}
