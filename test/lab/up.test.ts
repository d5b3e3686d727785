import assert from "node:assert/strict";
import { test } from "node:test";
import { CE, INET, LAN, NS } from "../../lab/addresses.ts";
import { resetCe } from "../../lab/ce-reset.ts";
import { connectMany, udpProbe } from "../../lab/clients.ts";
import type { Lab } from "../../lab/lab.ts";
import { findScenario, runScenario } from "../../lab/scenarios/index.ts";
import { dnsFromLan, httpFromLan, pingFromLan } from "../../lab/scenarios/probes.ts";
import { portInSet, portSets } from "../../src/mape/port-set.ts";
import { parseConntrack } from "../../src/plan/port-usage.ts";
import { stableState } from "../helpers/lab-state.ts";
import { useLab } from "../helpers/lab.ts";
import { waitFor } from "../../lab/wait.ts";
import { ECHO_CLIENT, ECHO_SERVER, wirePort } from "../helpers/fold-lab.ts";
import { removeSecondCe, secondCeOnLine, SEED } from "../../lab/faults.ts";
import { startLanPinger } from "../../lab/router-lifecycle.ts";
import { startAddressMonitor, startWatch } from "../../lab/traffic.ts";

// Proves mapectl up/down on a real kernel's ip6tnl and nftables, through a strict BR.
const { skip, lab: booted } = useLab({ strictEncapLimit: true });
const UP = ["up", "--wan", CE.wan, "--lan", CE.lan];

async function mapectl(args: string[], env?: Record<string, string>) {
  const r = await booted().mapectl(NS.ce, args, {
    timeoutMs: 120_000,
    ...(env === undefined ? {} : { env }),
  });
  return r;
}

async function fresh(prefix?: string): Promise<Lab> {
  const l = booted();
  await mapectl(["down", "--quiet"]);
  await resetCe(l.guest);
  if (prefix !== undefined && l.prefix !== prefix) await l.isp.setPrefix(prefix);
  await l.isp.resetCounters();
  await l.clearRecords();
  return l;
}

test(
  "up brings MAP-E up from nothing: ping, TCP, UDP, DNS from lan and from the CE reach inet through the strict BR",
  { skip },
  async () => {
    const l = await fresh();
    const r = await mapectl(UP);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /MAP-E is up: IPv4 133\.209\.13\.2 through mape/);
    const ping = await pingFromLan(l);
    assert.ok(ping.ok, ping.detail);
    const dns = await dnsFromLan(l);
    assert.ok(dns.ok, dns.detail);
    const http = await httpFromLan(l);
    assert.ok(http.ok, http.detail);
    const udp = await udpProbe(l, 5);
    assert.equal(udp.ok, 5);
    // the router's own traffic is translated too
    const own = await l.exec(NS.ce, ["ping", "-n", "-c", "2", "-W", "3", INET.hosts[2]], {
      timeoutMs: 30_000,
    });
    assert.equal(own.code, 0, own.stdout + own.stderr);
    const ownTcp = await l.exec(NS.ce, ["curl", "-sS", "-m", "8", `http://${INET.hosts[2]}/`], {
      timeoutMs: 30_000,
    });
    assert.equal(ownTcp.code, 0, ownTcp.stderr);
    // every source port and ICMP id that inet saw is inside PSID 65's set
    const records = await l.records();
    assert.ok(records.length > 0);
    for (const rec of records) {
      assert.equal(rec.src, "133.209.13.2", JSON.stringify(rec));
      const port = rec.proto === "icmp" ? rec.id : rec.sport;
      assert.ok(
        port !== undefined && portInSet(port, 4, 8, 65),
        `${rec.proto} ${String(port)} outside the port set`,
      );
    }
    assert.ok(
      records.some((rec) => rec.proto === "icmp"),
      "ICMP reached inet",
    );
    assert.deepEqual(await l.isp.brDrops(), [], "no BR drops");
  },
);

test("240 concurrent connections succeed, with 240 distinct ports over all 15 blocks", { skip }, async () => {
  const l = booted();
  const status = await mapectl(["status", "--json"]);
  assert.equal((JSON.parse(status.stdout) as { inSync: boolean }).inSync, true);
  await l.clearRecords();
  const many = await connectMany(l, 240, INET.hosts[1]);
  assert.equal(many.ok, 240);
  const ports = new Set(many.seen.map((s) => s.sport));
  assert.equal(ports.size, 240);
  const blocks = portSets(4, 8, 65);
  for (const port of ports) assert.ok(portInSet(port, 4, 8, 65), `port ${port}`);
  const used = blocks.map(([lo, hi]) => [...ports].filter((p) => p >= lo && p <= hi).length);
  assert.deepEqual(used, new Array<number>(15).fill(16));
  // status sees them in conntrack, per block
  const after = JSON.parse((await mapectl(["status", "--json"])).stdout) as {
    ports: { total: number; outsideSet: number } | null;
  };
  assert.ok(after.ports !== null && after.ports.outsideSet === 0);
});

test(
  "up twice is a no-op, down restores the exact previous state, the user's own table and route survive",
  { skip },
  async () => {
    const l = await fresh();
    await l.run(NS.ce, ["nft", "-f", "-"], {
      input:
        "table inet userfw {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 22 accept\n\t}\n}\n",
    });
    await l.run(NS.ce, ["ip", "route", "add", "198.51.100.0/24", "via", LAN.client, "dev", CE.lan]);
    const beforeUp = stableState(await l.snapshot(NS.ce));
    const first = await mapectl(UP);
    assert.equal(first.code, 0, first.stderr);
    const afterUp = stableState(await l.snapshot(NS.ce));
    const second = await mapectl([...UP, "--json"]);
    assert.equal(second.code, 0, second.stderr);
    const doc = JSON.parse(second.stdout) as { changed: boolean; actions: unknown[] };
    assert.equal(doc.changed, false);
    assert.deepEqual(doc.actions, []);
    assert.equal(stableState(await l.snapshot(NS.ce)), afterUp);
    const snap = await l.snapshot(NS.ce);
    assert.ok(JSON.stringify(snap.nft).includes("userfw"));
    const down = await mapectl(["down"]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(stableState(await l.snapshot(NS.ce)), beforeUp);
    await l.run(NS.ce, ["nft", "delete", "table", "inet", "userfw"]);
    await l.run(NS.ce, ["ip", "route", "del", "198.51.100.0/24"]);
  },
);

test(
  "established flows take the fast path under the fold: flowtable on lan and tunnel, the fold on the tunnel device, the [OFFLOAD] flow's port in the set on the wire and at the far end; up again changes nothing",
  { skip },
  async () => {
    const l = await fresh();
    const first = await mapectl(UP);
    assert.equal(first.code, 0, first.stderr);
    const table = await l.run(NS.ce, ["nft", "list", "table", "ip", "mapectl"]);
    assert.match(table, /flowtable fastpath \{[^]*devices = \{ lan0, mape \}/);
    // the default allocator folds, and with the fast path it folds on the tunnel device itself
    assert.match(table, /snat to 133\.209\.13\.2:16-255/);
    const netdev = await l.run(NS.ce, ["nft", "list", "table", "netdev", "mapectl"]);
    assert.match(netdev, /chain fold \{\n\t\ttype filter hook egress device "mape" priority filter;/);
    assert.match(netdev, /chain unfold \{\n\t\ttype filter hook ingress device "mape" priority filter - 10;/);
    // a 6 s upload; conntrack is read while it runs
    const upload = l.exec(
      NS.lan,
      ["iperf3", "-c", INET.hosts[0], "-p", String(INET.iperfPort), "-t", "6", "--connect-timeout", "5000"],
      { timeoutMs: 60_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const listed = await l.run(NS.ce, [
      "conntrack",
      "-L",
      "-n",
      "-p",
      "tcp",
      "--dport",
      String(INET.iperfPort),
    ]);
    // the far end sees the flow's port on the wire (iperf3's data connection, to its port)
    const farEnd = await l.run(NS.inet, [
      "ss",
      "-Htn",
      "state",
      "established",
      "sport",
      "=",
      `:${INET.iperfPort}`,
    ]);
    const done = await upload;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    const offloaded = listed.split("\n").filter((line) => line.includes("[OFFLOAD]"));
    assert.ok(offloaded.length > 0, `no offloaded flow in:\n${listed}`);
    // ports and status read these lines: the parser still finds the flow and its outside port,
    // which conntrack holds as allocated (16-255); on the wire it is its fold, in the set
    const flows = parseConntrack(offloaded.join("\n"), "133.209.13.2");
    assert.equal(flows.length, offloaded.length, offloaded.join("\n"));
    const peers = [...farEnd.matchAll(/133\.209\.13\.2\]?:(\d+)/g)].map((m) => Number(m[1]));
    for (const f of flows) {
      assert.ok(f.outsidePort >= 16 && f.outsidePort <= 255, `allocated port ${f.outsidePort}`);
      const wire = wirePort(f.outsidePort, 65);
      assert.ok(portInSet(wire, 4, 8, 65), `port ${wire}`);
      assert.ok(peers.includes(wire), `far end sees ${peers.join(", ")}, not ${wire}:\n${farEnd}`);
    }
    const again = await mapectl([...UP, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as { actions: unknown[] }).actions, []);
    assert.deepEqual(await l.isp.brDrops(), [], "no BR drops");
  },
);

test(
  "a failure injected halfway (nft refuses the ruleset) leaves the host exactly as before",
  { skip },
  async () => {
    const l = await fresh();
    const fake = "/run/mapectl-lab/fakebin";
    await l.run(NS.ce, ["mkdir", "-p", fake]);
    await l.guest.writeFile(
      `${fake}/nft`,
      '#!/bin/sh\nfor a in "$@"; do [ "$a" = "-c" ] && exec /usr/sbin/nft "$@"; done\n[ "$1" = "-f" ] && { echo "Error: Could not process rule: No buffer space available (injected)" >&2; exit 1; }\nexec /usr/sbin/nft "$@"\n',
      0o755,
    );
    // what went in before the table is what is rolled back: the dry run's actions up to it, and
    // nothing that puts traffic on the tunnel (the default route comes after the table)
    const planned = await mapectl([...UP, "--dry-run", "--json"]);
    assert.equal(planned.code, 0, planned.stderr);
    const ids = (JSON.parse(planned.stdout) as { actions: { id: string }[] }).actions.map((a) => a.id);
    const beforeTable = ids.indexOf("nat");
    assert.ok(beforeTable > 0 && ids.indexOf("ipv4-default") > beforeTable, ids.join(", "));
    const beforeSnap = stableState(await l.snapshot(NS.ce));
    const r = await mapectl(UP, {
      PATH: `${fake}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `load the NAPT .* failed: .*injected.*rolled back ${beforeTable} changes, the host is as before`,
      ),
    );
    assert.equal(stableState(await l.snapshot(NS.ce)), beforeSnap);
  },
);

test(
  "a port forward inside the set reaches a lan server from inet; one outside is refused at config time",
  { skip },
  async () => {
    const l = await fresh();
    const refused = await mapectl([...UP, "--forward", "tcp/8080=192.168.1.2:7"]);
    assert.equal(refused.code, 4);
    assert.match(
      refused.stderr,
      /tcp\/8080 is outside this line's port set \(PSID 65\); the nearest allowed ports are 5151 or 9232/,
    );
    const r = await mapectl([...UP, "--forward", `tcp/9240=${LAN.client}:7007`]);
    assert.equal(r.code, 0, r.stderr);
    // a TCP echo server on the lan client; inet connects to the MAP-E address and the forwarded port
    const server = await l.guest.start(
      NS.lan,
      "lan-echo",
      ["/usr/bin/python3", "-c", ECHO_SERVER],
      "/run/mapectl-lab/lan-echo.log",
    );
    try {
      // python's start-up under TCG on a loaded host can take seconds: wait until it listens
      await waitFor("the lan echo server", 30_000, async () =>
        (await l.run(NS.lan, ["ss", "-Hltn", "sport", "=", ":7007"])).includes("7007") ? true : null,
      );
      const reply = await l.exec(NS.inet, ["/usr/bin/python3", "-c", ECHO_CLIENT.replace("PORT", "9240")], {
        timeoutMs: 30_000,
      });
      assert.equal(reply.stdout.trim(), "hi", reply.stderr);
    } finally {
      await l.guest.stop(server);
    }
    // a port that is not forwarded is dropped
    const closed = await l.exec(
      NS.inet,
      ["/usr/bin/python3", "-c", "import socket; socket.create_connection(('133.209.13.2',9241),timeout=3)"],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(closed.code, 0);
  },
);

test(
  "a new prefix with the same IPv4 and another PSID: up moves the NAT to the new port set and drops the old PSID's entries",
  { skip },
  async () => {
    const l = await fresh("2404:7a82:4d02:4100::/56");
    assert.equal((await mapectl(UP)).code, 0);
    // closed connections stay in conntrack (TIME_WAIT) with their NATed port; long enough here to
    // outlast the new delegation
    const timeWait = "net.netfilter.nf_conntrack_tcp_timeout_time_wait";
    const saved = (await l.run(NS.ce, ["sysctl", "-n", timeWait])).trim();
    await l.run(NS.ce, ["sysctl", "-q", "-w", `${timeWait}=900`]);
    try {
      const before = await connectMany(l, 20, INET.hosts[1]);
      assert.equal(before.ok, 20);
      // 4d02:4200 differs from 4d02:4100 only in the PSID bits: 133.209.13.2 again, PSID 66
      await l.isp.setPrefix("2404:7a82:4d02:4200::/56");
      const natPorts = async () =>
        parseConntrack(await l.run(NS.ce, ["conntrack", "-L", "-n"]), "133.209.13.2")
          .filter((f) => f.protocol === "tcp")
          .map((f) => f.outsidePort);
      const old = await natPorts();
      assert.ok(
        old.filter((p) => portInSet(wirePort(p, 65), 4, 8, 65)).length >= 20,
        `PSID 65's NAT entries before the new up: ${old.join(" ")}`,
      );
      const r = await mapectl([...UP, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as {
        flushed: { address: string; flows: number | null } | null;
        plan: { ipv4Address: string; parameters: { psid: number } };
      };
      assert.equal(doc.plan.ipv4Address, "133.209.13.2");
      assert.equal(doc.plan.parameters.psid, 66);
      assert.ok(doc.flushed !== null, "up reports the NAT entries it dropped");
      assert.equal(doc.flushed.address, "133.209.13.2");
      assert.ok((doc.flushed.flows ?? 0) >= 20, JSON.stringify(doc.flushed));
      // under the fold every entry of the address goes: its allocated port would now leave as
      // another port of PSID 66's set, in the middle of its connection
      const left = (await natPorts()).filter((p) => !portInSet(wirePort(p, 66), 4, 8, 66));
      assert.deepEqual(left, [], "NAT entries outside PSID 66's set");
      await l.clearRecords();
      await l.isp.resetCounters();
      const after = await connectMany(l, 20, INET.hosts[1]);
      assert.equal(after.ok, 20);
      for (const seen of after.seen) {
        assert.equal(seen.src, "133.209.13.2");
        assert.ok(portInSet(seen.sport, 4, 8, 66), `port ${seen.sport} outside PSID 66's set`);
      }
      assert.deepEqual(await l.isp.brDrops(), [], "no BR drops");
    } finally {
      await l.run(NS.ce, ["sysctl", "-q", "-w", `${timeWait}=${saved}`]);
    }
  },
);

test(
  "--tcp-time-wait: closed connections through the tunnel give their ports back that much sooner",
  { skip },
  async () => {
    const l = await fresh();
    const r = await mapectl([...UP, "--tcp-time-wait", "6"]);
    assert.equal(r.code, 0, r.stderr);
    const closed = await connectMany(l, 10, INET.hosts[2]);
    assert.equal(closed.ok, 10);
    const timeWait = async () =>
      (await l.run(NS.ce, ["conntrack", "-L", "-p", "tcp", "-q", "133.209.13.2"]))
        .split("\n")
        .map((line) => /^tcp\s+6\s+(\d+)\s+TIME_WAIT\b/.exec(line)?.[1])
        .filter((t) => t !== undefined)
        .map(Number);
    const held = await timeWait();
    assert.ok(held.length >= 10, `TIME_WAIT entries: ${held.join(" ")}`);
    assert.ok(
      held.every((t) => t <= 6),
      `seconds left: ${held.join(" ")} (the kernel's own would be up to 120)`,
    );
    await new Promise((resolve) => setTimeout(resolve, 8000));
    assert.deepEqual(await timeWait(), [], "the ports are free again");
    // without the option the kernel's 120 s is back
    assert.equal((await mapectl(UP)).code, 0);
    await connectMany(l, 3, INET.hosts[2]);
    assert.ok((await timeWait()).some((t) => t > 60));
  },
);

for (const [service, prefix, blocks, portsPerCe] of [
  ["OCN バーチャルコネクト", "2400:4050:1234:5600::/56", 63, 1008],
  ["v6プラス", "240b:10:1234:5600::/56", 15, 240],
] as const) {
  test(
    `${service}: up on ${prefix} and traffic flows through its BR with ${portsPerCe} ports`,
    { skip },
    async () => {
      const l = await fresh(prefix);
      const r = await mapectl([...UP, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const plan = (
        JSON.parse(r.stdout) as {
          plan: {
            portSets: [number, number][];
            portCount: number;
            ipv4Address: string;
            parameters: { psid: number; rule: { psidOffset: number; psidLength: number } };
          };
        }
      ).plan;
      assert.equal(plan.portSets.length, blocks);
      assert.equal(plan.portCount, portsPerCe);
      const ping = await pingFromLan(l);
      assert.ok(ping.ok, ping.detail);
      const many = await connectMany(l, Math.min(portsPerCe, 120), INET.hosts[3]);
      assert.equal(many.ok, Math.min(portsPerCe, 120));
      const { psidOffset, psidLength } = plan.parameters.rule;
      for (const s of many.seen) {
        assert.equal(s.src, plan.ipv4Address);
        assert.ok(portInSet(s.sport, psidOffset, psidLength, plan.parameters.psid), `port ${s.sport}`);
      }
    },
  );
}

test("the demo scenario (README's first command) passes every check on a fresh CE", { skip }, async () => {
  const l = await fresh("2404:7a82:4d02:4100::/56");
  const demo = findScenario("demo");
  assert.ok(demo !== undefined);
  const report = await runScenario(l, demo);
  const failed = report.checks.filter((c) => !c.passed);
  assert.deepEqual(failed, [], JSON.stringify(report.checks, null, 2));
  assert.ok(report.checks.length >= 9);
});

test(
  "the CE address is optimistic: IPv4 from the LAN passes before its duplicate address detection ends; a second CE holding it fails up and the daemon, rolled back, optimistic_dad as it was",
  { skip },
  async () => {
    const l = await fresh("2404:7a82:4d02:4100::/56");
    const sysctl = async (key: string) => (await l.run(NS.ce, ["sysctl", "-n", key])).trim();
    const optimisticKey = `net.ipv6.conf.${CE.wan}.optimistic_dad`;
    const transmitsKey = `net.ipv6.conf.${CE.wan}.dad_transmits`;
    const optimisticBefore = await sysctl(optimisticKey);
    assert.equal(optimisticBefore, "0", "Debian's default: off, so mapectl switches it for the one address");
    const transmits = await sysctl(transmitsKey);
    // three probes: DAD takes 3-4 s, far longer than up needs to put the default route in
    await l.run(NS.ce, ["sysctl", "-q", "-w", `${transmitsKey}=3`]);
    try {
      const monitor = await startAddressMonitor(l, CE.wan);
      const pinger = await startLanPinger(l);
      let r;
      let settled;
      try {
        r = await mapectl(UP);
        settled = await monitor.settled(SEED.ceAddress);
      } finally {
        await l.guest.stop(pinger, 2000);
        await monitor.stop();
      }
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.ok(settled !== null, "the CE address's DAD ended before up returned (up waits for the verdict)");
      const first = (await l.records()).find((rec) => rec.proto === "icmp");
      assert.ok(first !== undefined, "the LAN's pings reached inet");
      assert.ok(
        first.t < settled,
        `the first ping reached inet ${(settled - first.t).toFixed(2)} s before DAD ended (it did not wait for it); first at ${first.t}; up: ${r.stdout}`,
      );
      assert.equal(await sysctl(optimisticKey), optimisticBefore, "the WAN's optimistic_dad is set back");

      // a second CE on the line holds the address: DAD fails while the tunnel already runs, and
      // everything up did is rolled back
      await mapectl(["down", "--quiet"]);
      await secondCeOnLine(l);
      try {
        const beforeSnap = stableState(await l.snapshot(NS.ce));
        const dup = await mapectl(UP);
        assert.equal(dup.code, 1, dup.stdout + dup.stderr);
        assert.match(
          dup.stderr,
          /duplicate address detection failed for 2404:7a82:4d02:4100:85:d10d:200:4100 on wan0: another CE .*; rolled back \d+ changes, the host is as before/,
        );
        assert.equal(stableState(await l.snapshot(NS.ce)), beforeSnap);
        assert.equal(await sysctl(optimisticKey), optimisticBefore);
        // the daemon refuses it the same way, and says so
        const daemon = await startWatch(l);
        try {
          await daemon.waitForLine(/duplicate address detection failed for \S+ on wan0: another CE/, 90_000);
        } finally {
          await daemon.stop();
        }
        assert.equal(stableState(await l.snapshot(NS.ce)), beforeSnap, "nothing of the daemon's left");
      } finally {
        await removeSecondCe(l);
      }
    } finally {
      await l.run(NS.ce, ["sysctl", "-q", "-w", `${transmitsKey}=${transmits}`]);
    }
  },
);
