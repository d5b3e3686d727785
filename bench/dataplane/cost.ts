import { fileURLToPath } from "node:url";
import { CE, INET, NS } from "../../lab/addresses.ts";
import type { Lab } from "../../lab/lab.ts";
import { buildLabC } from "../../lab/plugins/insn-count.ts";
import { IPERF_CLIENT } from "./paths.ts";
import { medianOf, spreadPercent } from "./stats.ts";

// The dataplane's cost in guest instructions on vCPU 0 (the user's side in the split layout),
// counted by the lab's TCG plugin: unlike throughput it does not move with host load.
//
// Each figure is a difference of two transfers that differ only in size (a large one and a
// smaller one), so what every transfer pays once (starting the client, its handshake) cancels,
// and what is left is the cost per extra byte or packet.

/** Bulk TCP upload, lan→inet: bytes of the large and the small transfer. */
const TCP_BYTES = [200 << 20, 10 << 20] as const;
/**
 * Small-packet UDP, lan→inet, by the bench's own sender (guest/udp-flood.c): datagrams of 64
 * bytes in the large and the small run, 16 per sendmmsg and a 2 ms sleep after each burst (at
 * most 8000 a second; the number of sleeps is fixed, so the sender's own work does not follow
 * the host's speed). The receiver in inet answers one hello first, as any flow with replies is.
 */
const UDP = { payload: 64, datagrams: [40_000, 4_000], burst: 16, gapUs: 2000, port: 9999 } as const;
export const COST_RUNS = 3;

const floodSource = fileURLToPath(new URL("../guest/udp-flood.c", import.meta.url));

interface Transfer {
  /** Guest instructions on vCPU 0 and vCPU 1 during the transfer. */
  readonly insns: readonly [number, number];
  /** Packets the CE sent on its line side (super-packets for TCP, as GSO keeps them). */
  readonly wanPackets: number;
  readonly seconds: number;
  /** TCP: iperf3's received rate; UDP: datagrams the receiver counted. */
  readonly mbps: number;
  readonly received: number;
}

interface Counted {
  readonly lab: Lab;
  readonly counts: () => Promise<number[]>;
  readonly flood: string;
}

async function wanTxPackets(lab: Lab): Promise<number> {
  const text = await lab.run(NS.ce, ["cat", `/sys/class/net/${CE.wan}/statistics/tx_packets`]);
  return Number(text.trim());
}

/** Counts vCPU 0's instructions and the CE's line packets around `work`. */
async function counted(
  c: Counted,
  work: () => Promise<{ mbps: number; received: number }>,
): Promise<Transfer> {
  const packets0 = await wanTxPackets(c.lab);
  const before = await c.counts();
  const started = Date.now();
  const { mbps, received } = await work();
  const seconds = (Date.now() - started) / 1000;
  const after = await c.counts();
  const packets1 = await wanTxPackets(c.lab);
  return {
    insns: [(after[0] ?? 0) - (before[0] ?? 0), (after[1] ?? 0) - (before[1] ?? 0)],
    wanPackets: packets1 - packets0,
    seconds,
    mbps,
    received,
  };
}

function tcpTransfer(c: Counted, bytes: number): Promise<Transfer> {
  return counted(c, async () => {
    const out = await c.lab.run(NS.lan, [...IPERF_CLIENT, "-J", "-n", String(bytes)], { timeoutMs: 180_000 });
    const doc = JSON.parse(out) as { error?: string; end: { sum_received?: { bits_per_second: number } } };
    if (doc.error !== undefined) throw new Error(`iperf3: ${doc.error}`);
    return { mbps: (doc.end.sum_received?.bits_per_second ?? 0) / 1e6, received: bytes };
  });
}

function udpTransfer(c: Counted, datagrams: number): Promise<Transfer> {
  return counted(c, async () => {
    // the receiver runs on vCPU 1, the ISP's side, and is not part of what is counted
    const receiver = c.lab.run(
      NS.inet,
      ["taskset", "-c", "1", c.flood, "recv", INET.hosts[0], String(UDP.port), String(datagrams), "3000"],
      { timeoutMs: 240_000 },
    );
    const sendArgs = [INET.hosts[0], UDP.port, datagrams, UDP.payload, UDP.burst, UDP.gapUs].map(String);
    await c.lab.run(NS.lan, ["taskset", "-c", "0", c.flood, "send", ...sendArgs], { timeoutMs: 240_000 });
    const got = JSON.parse(await receiver) as { received: number };
    return { mbps: 0, received: got.received };
  });
}

export interface RunCost {
  /** vCPU 0 instructions per MB (2^20 bytes) of TCP payload, and per packet on the CE's line. */
  readonly tcpPerMB: number;
  readonly tcpPerWanPacket: number;
  /** vCPU 0 instructions per 64-byte UDP datagram sent. */
  readonly udpPerPacket: number;
  readonly tcpVcpu1PerMB: number;
  readonly tcpMbps: number;
  /** Datagrams of the large UDP run that did not reach the receiver, in %. */
  readonly udpLostPercent: number;
}

async function oneRun(c: Counted, log: (line: string) => void): Promise<RunCost> {
  const tcp = [] as Transfer[];
  for (const bytes of TCP_BYTES) tcp.push(await tcpTransfer(c, bytes));
  const udp = [] as Transfer[];
  for (const n of UDP.datagrams) udp.push(await udpTransfer(c, n));
  log(`bench: transfers ${JSON.stringify({ tcp, udp })}`);
  const [bigT, smallT] = tcp as [Transfer, Transfer];
  const [bigU, smallU] = udp as [Transfer, Transfer];
  const mb = (TCP_BYTES[0] - TCP_BYTES[1]) / 2 ** 20;
  return {
    tcpPerMB: Math.round((bigT.insns[0] - smallT.insns[0]) / mb),
    tcpPerWanPacket: Math.round(
      (bigT.insns[0] - smallT.insns[0]) / Math.max(1, bigT.wanPackets - smallT.wanPackets),
    ),
    udpPerPacket: Math.round((bigU.insns[0] - smallU.insns[0]) / (UDP.datagrams[0] - UDP.datagrams[1])),
    tcpVcpu1PerMB: Math.round((bigT.insns[1] - smallT.insns[1]) / mb),
    tcpMbps: Math.round(bigT.mbps),
    udpLostPercent: Number((100 * (1 - bigU.received / UDP.datagrams[0])).toFixed(2)),
  };
}

function summarise(runs: readonly RunCost[]) {
  const pick = (f: (r: RunCost) => number) => runs.map(f);
  return {
    tcpInsnsPerMB: pick((r) => r.tcpPerMB),
    tcpInsnsPerWanPacket: pick((r) => r.tcpPerWanPacket),
    udpInsnsPerPacket: pick((r) => r.udpPerPacket),
    spreadPercent: {
      tcpPerMB: spreadPercent(pick((r) => r.tcpPerMB)),
      tcpPerWanPacket: spreadPercent(pick((r) => r.tcpPerWanPacket)),
      udpPerPacket: spreadPercent(pick((r) => r.udpPerPacket)),
    },
    vcpu1TcpInsnsPerMB: pick((r) => r.tcpVcpu1PerMB),
    indicativeTcpMbps: pick((r) => r.tcpMbps),
    udpLostPercent: pick((r) => r.udpLostPercent),
  };
}

/** One way through the lab: how to switch to it from MAP-E as `up` leaves it, and back. */
export interface CostPath {
  readonly name: string;
  readonly enter: () => Promise<void>;
  readonly leave: () => Promise<void>;
}

/**
 * COST_RUNS runs on each path, in the split layout (which the caller sets), all in one boot. The
 * first path is the reference of the ratios (plain routing + masquerade).
 */
export async function measureCost(lab: Lab, paths: readonly CostPath[], log: (line: string) => void) {
  const counts = lab.instructionCounts;
  if (counts === undefined) throw new Error("the lab was booted without countInstructions (or under KVM)");
  const c: Counted = { lab, counts, flood: buildLabC(floodSource, "udp-flood", false) };
  // The agent (and every process it starts) to vCPU 1, so that starting a client or reading a
  // counter never lands on the counted vCPU; the clients are pinned back to vCPU 0.
  // (sh's parent is `ip netns exec`, whose parent is the agent)
  await lab.run(NS.ce, ["sh", "-c", 'taskset -a -p -c 1 "$(cut -d" " -f4 /proc/$PPID/stat)" >/dev/null']);
  const idle = await counted(c, async () => {
    await lab.run(NS.ce, ["sleep", "5"]);
    return { mbps: 0, received: 0 };
  });
  const results: Record<string, RunCost[]> = {};
  for (const path of paths) {
    await path.enter();
    try {
      const runs: RunCost[] = [];
      for (let i = 0; i < COST_RUNS; i++) {
        runs.push(await oneRun(c, log));
        log(`bench: cost run ${i + 1} ${path.name} ${JSON.stringify(runs[i])}`);
      }
      results[path.name] = runs;
    } finally {
      await path.leave();
    }
  }
  const reference = results[paths[0]?.name ?? ""] ?? [];
  const ratio = (runs: RunCost[], f: (r: RunCost) => number) =>
    Number((medianOf(runs.map(f)) / medianOf(reference.map(f))).toFixed(3));
  return {
    paths: Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, summarise(runs)])),
    ratioToPlain: Object.fromEntries(
      Object.entries(results).map(([name, runs]) => [
        name,
        {
          tcpPerMB: ratio(runs, (r) => r.tcpPerMB),
          tcpPerWanPacket: ratio(runs, (r) => r.tcpPerWanPacket),
          udpPerPacket: ratio(runs, (r) => r.udpPerPacket),
        },
      ]),
    ),
    idleVcpu0InsnsPerSecond: Math.round(idle.insns[0] / idle.seconds),
    goals: { tcpPerMB: "<= 1.05", udpPerPacket: "<= 1.15", spreadPercent: "<= 2" },
    note:
      "guest instructions on vCPU 0 (lan + CE, incl. the clients), split layout, by the lab's TCG plugin; " +
      `marginal cost between a ${TCP_BYTES[0] >> 20} MB and a ${TCP_BYTES[1] >> 20} MB TCP upload, and between ` +
      `${UDP.datagrams[0]} and ${UDP.datagrams[1]} UDP datagrams of ${UDP.payload} bytes ` +
      `(${UDP.burst} per ${UDP.gapUs} us); Mbit/s figures are wall-clock and only indicative`,
  };
}
