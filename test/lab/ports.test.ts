import assert from "node:assert/strict";
import { test } from "node:test";
import { CE, INET, LAN, NS } from "../../lab/addresses.ts";
import { addInetHosts, addLanHosts, openFlows, startWatch } from "../../lab/traffic.ts";
import { waitFor } from "../../lab/wait.ts";
import { portInSet, portSets } from "../../src/mape/port-set.ts";
import { useLab } from "../helpers/lab.ts";

// Port usage, proven: 2,000 concurrent flows from several inside hosts through BIGLOBE's
// 240 ports all succeed (NAT tuples are per destination, so many destinations share the ports),
// and `mapectl ports --json` counts per block what conntrack holds.
const { skip, lab: booted } = useLab();

const IPV4 = "133.209.13.2";
const PSID = 65;
const FLOWS = 2000;

interface PortsReport {
  ipv4Address: string;
  psid: number;
  total: number;
  portCount: number;
  outsideSet: number;
  perProtocol: Record<string, number>;
  perBlock: { first: number; last: number; used: number }[];
  busiestHosts: { address: string; flows: number }[];
}

/**
 * The NATed TCP flows of `ipv4` in `conntrack -L` output, read here without the project's parser:
 * each line holds the original tuple, then the reply tuple, whose dst is the NAT address and whose
 * dport is the outside port it chose.
 */
function natPorts(text: string, ipv4: string): { inside: string; port: number }[] {
  const out: { inside: string; port: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("tcp")) continue;
    const fields = [...line.matchAll(/\b(src|dst|sport|dport)=(\S+)/g)].map(
      (m) => `${m[1] ?? ""}=${m[2] ?? ""}`,
    );
    if (fields.length < 8) continue;
    const get = (part: string[], key: string) =>
      part.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
    const original = fields.slice(0, 4);
    const reply = fields.slice(4, 8);
    if (get(reply, "dst") !== ipv4) continue;
    out.push({ inside: get(original, "src") ?? "", port: onWire(Number(get(reply, "dport"))) });
  }
  return out;
}

/**
 * conntrack holds the port the kernel allocated from 16-255; mapectl's fold sends allocated port
 * i·16 + j as i·4096 + PSID·16 + j (RFC 7597 with a = 4, k = 8), spelled out here on its own.
 */
function onWire(port: number): number {
  return port >= 16 && port <= 255 ? Math.floor(port / 16) * 4096 + PSID * 16 + (port % 16) : port;
}

test(
  `${FLOWS} concurrent flows from 4 lan hosts to 80 destinations fit in 240 ports; ports --json matches conntrack per block`,
  { skip },
  async (t) => {
    const l = booted();
    const up = await l.mapectl(NS.ce, ["up", "--wan", CE.wan, "--lan", CE.lan], { timeoutMs: 120_000 });
    assert.equal(up.code, 0, up.stderr);
    const sources = await addLanHosts(l, 4);
    const hosts = await addInetHosts(l, 40);
    const destinations = hosts.flatMap((h) => [[h, INET.manyPort] as const, [h, INET.tcpEchoPort] as const]);
    await l.run(NS.ce, ["conntrack", "-F"]);
    await l.clearRecords();
    await l.isp.resetCounters();

    const started = Date.now();
    const flows = await openFlows(l, { sources, destinations, count: FLOWS }, 180);
    try {
      t.diagnostic(
        `${flows.summary.ok}/${flows.summary.count} flows in ${flows.summary.seconds} s (guest), ${((Date.now() - started) / 1000).toFixed(1)} s wall`,
      );
      assert.equal(flows.summary.ok, FLOWS, JSON.stringify(flows.summary.errors));
      assert.deepEqual(
        flows.summary.perSource,
        Object.fromEntries(sources.map((s) => [s, FLOWS / sources.length])),
      );

      // read both while every flow is held open
      const ports = await l.mapectl(NS.ce, ["ports", "--json"], { timeoutMs: 60_000 });
      assert.equal(ports.code, 0, ports.stderr);
      const report = JSON.parse(ports.stdout) as PortsReport;
      const listed = await l.exec(NS.ce, ["conntrack", "-L", "-n"], { timeoutMs: 60_000 });
      assert.equal(listed.code, 0, listed.stderr);
      const nat = natPorts(listed.stdout, IPV4);

      assert.equal(report.ipv4Address, IPV4);
      assert.equal(report.psid, PSID);
      assert.equal(nat.length, FLOWS, "conntrack holds every flow, NATed to the MAP-E address");
      assert.equal(report.total, nat.length);
      assert.equal(report.perProtocol.tcp, FLOWS);
      assert.equal(report.outsideSet, 0);
      const blocks = portSets(4, 8, PSID);
      assert.deepEqual(
        report.perBlock.map((b) => [b.first, b.last]),
        blocks.map(([first, last]) => [first, last]),
      );
      const perBlock = blocks.map(
        ([first, last]) => nat.filter((f) => f.port >= first && f.port <= last).length,
      );
      assert.deepEqual(
        report.perBlock.map((b) => b.used),
        perBlock,
      );
      t.diagnostic(`flows per block: ${perBlock.join(" ")}`);
      // many destinations share the 240 ports: each port carries flows to several of them
      const distinct = new Set(nat.map((f) => f.port));
      assert.ok(distinct.size <= 240, `${distinct.size} distinct outside ports`);
      for (const port of distinct) assert.ok(portInSet(port, 4, 8, PSID), `port ${port} outside the set`);
      t.diagnostic(`${distinct.size} distinct outside ports for ${FLOWS} flows`);
      assert.deepEqual(
        report.busiestHosts.map((h) => [h.address, h.flows]).sort(),
        sources.map((s) => [s, FLOWS / sources.length]).sort(),
      );

      // inet saw each flow from the MAP-E address, from a port of the set; the BR dropped nothing
      const seen = (await l.records()).filter((r) => r.proto === "tcp");
      assert.equal(seen.length, FLOWS);
      assert.ok(seen.every((r) => r.src === IPV4 && r.sport !== undefined && portInSet(r.sport, 4, 8, PSID)));
      assert.deepEqual(await l.isp.brDrops(), []);
    } finally {
      await flows.close();
    }
  },
);

test(
  "the daemon warns when one destination takes 80 % of the port set, naming it and the busiest host, and says when it is back under",
  { skip },
  async () => {
    const l = booted();
    // TIME_WAIT of 2 s: the closed flows give their ports back at once, so "back under" follows
    // the close instead of the kernel's 120 s
    const watch = await startWatch(l, ["--tcp-time-wait", "2"]);
    try {
      await watch.waitForLine(/^.*start: (applied |MAP-E up as planned)/, 120_000);
      const from = (await watch.log()).length;
      const destination = [INET.hosts[1], INET.manyPort] as const;
      const flows = await openFlows(
        l,
        { sources: [LAN.client], destinations: [destination], count: 200 },
        120,
      );
      try {
        assert.equal(flows.summary.ok, 200, JSON.stringify(flows.summary));
        // the daemon looks every 30 s
        const warning = await watch.waitForLine(/NAT ports towards tcp /, 75_000, from);
        const match =
          /NAT ports towards tcp ([\d.]+):(\d+): (\d+) of 240 in use \((\d+)%.*busiest inside hosts: ([\d.]+) \((\d+)\)/.exec(
            warning,
          );
        assert.ok(match !== null, warning);
        assert.equal(`${match[1]}:${match[2]}`, `${destination[0]}:${destination[1]}`);
        assert.ok(Number(match[3]) >= 200 && Number(match[3]) <= 240, warning);
        assert.equal(match[5], LAN.client);
      } finally {
        await flows.close();
      }
      const after = (await watch.log()).length;
      await watch.waitForLine(/NAT ports back under 80% towards every destination/, 75_000, after);
      const warnings = (await watch.log()).slice(from).filter((line) => /NAT ports towards/.test(line));
      assert.equal(warnings.length, 1, `warned once, not on every check: ${warnings.join(" | ")}`);
    } finally {
      await watch.stop();
    }
  },
);

/** A UDP datagram from lan to a closed port: the ICMP port unreachable must come back as ECONNREFUSED. */
const UDP_REFUSED = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"x")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
`;

/** inet: answers the first datagram once more after its sender has closed: refused, or not. */
const UDP_LATE = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(30)
data, peer = s.recvfrom(100)
s.connect(peer)
time.sleep(2)
s.send(b"late")
try:
    s.recv(100)
    print("answered", peer[1])
except ConnectionRefusedError:
    print("refused", peer[1])
except socket.timeout:
    print("timeout", peer[1])
`;

/** lan: one datagram from a socket closed at once. */
const UDP_ONCE = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
s.close()
`;

/**
 * The other way: inet answers a flow whose socket on lan has closed, lan's port unreachable leaves
 * quoting the allocated port, the fold puts the wire port in with a valid checksum, and inet's
 * socket, connected to the wire port, takes the error (without the fold it finds no socket).
 */
async function outboundErrorReachesInet(l: ReturnType<typeof booted>): Promise<void> {
  const port = "7100";
  const late = l.exec(NS.inet, ["/usr/bin/python3", "-c", UDP_LATE, INET.hosts[0], port], {
    timeoutMs: 90_000,
  });
  await waitFor("inet's UDP socket", 30_000, async () =>
    (await l.run(NS.inet, ["ss", "-Hlun", "sport", "=", `:${port}`])).includes(port) ? true : null,
  );
  await l.run(NS.lan, ["/usr/bin/python3", "-c", UDP_ONCE, INET.hosts[0], port]);
  const answer = await late;
  const [verdict, wire] = answer.stdout.trim().split(" ");
  assert.ok(portInSet(Number(wire), 4, 8, PSID), answer.stdout);
  assert.equal(verdict, "refused", answer.stdout + answer.stderr);
}

test(
  "the fold: echo ids and ports in the set at inet, replies and quoted ICMP errors both ways; a host at its limit is refused, another is not",
  { skip },
  async () => {
    const l = booted();
    const up = await l.mapectl(NS.ce, ["up", "--wan", CE.wan, "--lan", CE.lan, "--max-ports-per-host", "5"], {
      timeoutMs: 120_000,
    });
    assert.equal(up.code, 0, up.stderr);
    const table = await l.run(NS.ce, ["nft", "list", "table", "ip", "mapectl"]);
    assert.match(table, /snat to 133\.209\.13\.2:16-255/);
    await l.run(NS.ce, ["conntrack", "-F"]);
    await l.clearRecords();
    await l.isp.resetCounters();

    // ICMP echo: conntrack holds the allocated id, inet sees the folded one, the reply comes back
    const ping = await l.exec(NS.lan, ["ping", "-n", "-c", "2", "-i", "0.3", "-W", "3", INET.hosts[0]]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const icmp = await l.run(NS.ce, ["conntrack", "-L", "-p", "icmp", "-n"]);
    const id = Number(/dst=133\.209\.13\.2 type=0 code=0 id=(\d+)/.exec(icmp)?.[1]);
    assert.ok(id >= 16 && id <= 255, `echo id ${id} in conntrack is an allocated one: ${icmp}`);

    // UDP to a closed port: inet's port unreachable quotes the folded port; the unfold puts the
    // allocated one back with a valid checksum, conntrack relates it, the host gets ECONNREFUSED
    const udp = await l.run(NS.lan, ["/usr/bin/python3", "-c", UDP_REFUSED, INET.hosts[0], "9"]);
    assert.equal(udp.trim(), "refused");
    await outboundErrorReachesInet(l);

    // five flows from one host take its limit; its sixth is refused at once, another host's passes
    // (the ping and the datagram above are flows of the same host too: start from none)
    await l.run(NS.ce, ["conntrack", "-F"]);
    const [other] = await addLanHosts(l, 1);
    const destination = [INET.hosts[1], INET.manyPort] as const;
    const five = await openFlows(l, { sources: [LAN.client], destinations: [destination], count: 6 }, 30);
    try {
      assert.equal(five.summary.ok, 5, JSON.stringify(five.summary));
      assert.ok(five.summary.seconds < 20, `the refused flow failed fast: ${JSON.stringify(five.summary)}`);
      const second = await openFlows(
        l,
        { sources: [other ?? ""], destinations: [destination], count: 1 },
        30,
      );
      try {
        assert.equal(second.summary.ok, 1, JSON.stringify(second.summary));
      } finally {
        await second.close();
      }
      const ports = JSON.parse((await l.mapectl(NS.ce, ["ports", "--json"])).stdout) as PortsReport & {
        perHostLimit: number | null;
      };
      assert.equal(ports.perHostLimit, 5);
      assert.equal(ports.outsideSet, 0);
    } finally {
      await five.close();
    }
    // every packet inet saw came from a port (or id) of the set; the strict BR dropped nothing
    const seen = await l.records();
    assert.ok(seen.length > 0);
    for (const r of seen)
      if (r.sport !== undefined) assert.ok(portInSet(r.sport, 4, 8, PSID), `${r.proto} from port ${r.sport}`);
    assert.deepEqual(await l.isp.brDrops(), []);
  },
);
