import { CE, INET, NS } from "../../lab/addresses.ts";
import type { Lab } from "../../lab/lab.ts";

// The dataplane's cost in guest instructions on vCPU 0 (the user's side in the split layout),
// counted by the lab's TCG plugin: unlike throughput it does not move with host load.
//
// Each figure is a difference of two transfers that differ only in size (a large one and a
// smaller one), so what every transfer pays once (the agent spawning iperf3, its control
// connection, the handshake) cancels, and what is left is the cost per extra byte or packet.

/** Bulk TCP upload, lan→inet: bytes of the large and the small transfer. */
const TCP_BYTES = [200 << 20, 10 << 20] as const;
/**
 * Small-packet UDP: 64-byte payloads, datagrams in the large and the small run. Unpaced: iperf3
 * paces UDP by polling the clock, so at a fixed rate its own instructions grow with wall time,
 * which is host load (a paced run gave per-packet costs from -165 to 4672).
 */
const UDP_PAYLOAD = 64;
const UDP_DATAGRAMS = [50_000, 5_000] as const;
export const COST_RUNS = 3;

interface Transfer {
  /** Guest instructions on vCPU 0 and vCPU 1 during the transfer. */
  readonly insns: readonly [number, number];
  /** Packets the CE sent on its line side (super-packets for TCP, as GSO keeps them). */
  readonly wanPackets: number;
  readonly seconds: number;
  readonly mbps: number;
  readonly lostPercent: number;
  /** iperf3's own error, when it gave up (it still exits 0 with -J). */
  readonly error: string | undefined;
}

async function wanTxPackets(lab: Lab): Promise<number> {
  const text = await lab.run(NS.ce, ["cat", `/sys/class/net/${CE.wan}/statistics/tx_packets`]);
  return Number(text.trim());
}

async function transfer(lab: Lab, counts: () => Promise<number[]>, iperfArgs: string[]): Promise<Transfer> {
  const packets0 = await wanTxPackets(lab);
  const before = await counts();
  const started = Date.now();
  const out = await lab.run(
    NS.lan,
    ["taskset", "-c", "0", "iperf3", "-c", INET.hosts[0], "-p", String(INET.iperfPort), "-J", ...iperfArgs],
    { timeoutMs: 120_000 },
  );
  const seconds = (Date.now() - started) / 1000;
  const after = await counts();
  const packets1 = await wanTxPackets(lab);
  const doc = JSON.parse(out) as {
    error?: string;
    end: {
      sum_received?: { bits_per_second: number };
      sum?: { bits_per_second: number; lost_percent?: number };
    };
  };
  return {
    insns: [(after[0] ?? 0) - (before[0] ?? 0), (after[1] ?? 0) - (before[1] ?? 0)],
    wanPackets: packets1 - packets0,
    seconds,
    mbps: (doc.end.sum_received?.bits_per_second ?? doc.end.sum?.bits_per_second ?? 0) / 1e6,
    lostPercent: doc.end.sum?.lost_percent ?? 0,
    error: doc.error,
  };
}

interface RunCost {
  /** vCPU 0 instructions per MB (2^20 bytes) of TCP payload, and per packet on the CE's line. */
  readonly tcpPerMB: number;
  readonly tcpPerWanPacket: number;
  /** vCPU 0 instructions per 64-byte UDP datagram. */
  readonly udpPerPacket: number;
  /** The same per packet the CE put on its line (datagrams the stack dropped before it excluded). */
  readonly udpPerWanPacket: number;
  readonly tcpVcpu1PerMB: number;
  readonly tcpMbps: number;
  readonly udpLostPercent: number;
  /** Why the UDP figures are null: the datagrams did not reach the CE's line. */
  readonly udpProblem?: string;
}

async function oneRun(
  lab: Lab,
  counts: () => Promise<number[]>,
  log: (line: string) => void,
): Promise<RunCost> {
  const tcp = [] as Transfer[];
  for (const bytes of TCP_BYTES) tcp.push(await transfer(lab, counts, ["-n", String(bytes)]));
  const udp = [] as Transfer[];
  for (const n of UDP_DATAGRAMS) {
    const args = ["-u", "-l", String(UDP_PAYLOAD), "-b", "0"];
    udp.push(await transfer(lab, counts, [...args, "-k", String(n)]));
  }
  log(`bench: transfers ${JSON.stringify({ tcp, udp })}`);
  const [bigT, smallT] = tcp as [Transfer, Transfer];
  const [bigU, smallU] = udp as [Transfer, Transfer];
  const mb = (TCP_BYTES[0] - TCP_BYTES[1]) / 2 ** 20;
  const extraDatagrams = UDP_DATAGRAMS[0] - UDP_DATAGRAMS[1];
  // a count divided by packets that never left is no cost: say so instead of printing it
  const udpProblem =
    bigU.wanPackets - smallU.wanPackets < extraDatagrams * 0.9
      ? `only ${bigU.wanPackets} of ${UDP_DATAGRAMS[0]} datagrams reached the CE's line (iperf3: ${bigU.error ?? "no error"})`
      : undefined;
  const udp0 = udpProblem === undefined ? bigU.insns[0] - smallU.insns[0] : Number.NaN;
  return {
    tcpPerMB: Math.round((bigT.insns[0] - smallT.insns[0]) / mb),
    tcpPerWanPacket: Math.round(
      (bigT.insns[0] - smallT.insns[0]) / Math.max(1, bigT.wanPackets - smallT.wanPackets),
    ),
    udpPerPacket: Math.round(udp0 / extraDatagrams),
    udpPerWanPacket: Math.round(udp0 / Math.max(1, bigU.wanPackets - smallU.wanPackets)),
    tcpVcpu1PerMB: Math.round((bigT.insns[1] - smallT.insns[1]) / mb),
    tcpMbps: Math.round(bigT.mbps),
    udpLostPercent: Number(bigU.lostPercent.toFixed(2)),
    ...(udpProblem === undefined ? {} : { udpProblem }),
  };
}

/** Largest minus smallest, as a percentage of the median. */
function spreadPercent(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted[Math.floor(sorted.length / 2)] ?? 1;
  return Number(((100 * ((sorted.at(-1) ?? 0) - (sorted[0] ?? 0))) / mid).toFixed(2));
}

function medianOf(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

function summarise(runs: readonly RunCost[]) {
  const pick = (f: (r: RunCost) => number) => runs.map(f);
  return {
    tcpInsnsPerMB: pick((r) => r.tcpPerMB),
    tcpInsnsPerWanPacket: pick((r) => r.tcpPerWanPacket),
    udpInsnsPerPacket: pick((r) => r.udpPerPacket),
    udpInsnsPerWanPacket: pick((r) => r.udpPerWanPacket),
    spreadPercent: {
      tcpPerMB: spreadPercent(pick((r) => r.tcpPerMB)),
      tcpPerWanPacket: spreadPercent(pick((r) => r.tcpPerWanPacket)),
      udpPerPacket: spreadPercent(pick((r) => r.udpPerPacket)),
      udpPerWanPacket: spreadPercent(pick((r) => r.udpPerWanPacket)),
    },
    vcpu1TcpInsnsPerMB: pick((r) => r.tcpVcpu1PerMB),
    indicativeTcpMbps: pick((r) => r.tcpMbps),
    udpLostPercent: pick((r) => r.udpLostPercent),
    udpProblems: runs.flatMap((r) => (r.udpProblem === undefined ? [] : [r.udpProblem])),
  };
}

/**
 * COST_RUNS runs on MAP-E, then as many on plain routing + masquerade, in the split layout (which
 * the caller sets); toPlain and toMape switch the lab between the two paths and back.
 */
export async function measureCost(
  lab: Lab,
  toPlain: () => Promise<void>,
  toMape: () => Promise<void>,
  log: (line: string) => void,
) {
  const counts = lab.instructionCounts;
  if (counts === undefined) throw new Error("the lab was booted without countInstructions (or under KVM)");
  const mape: RunCost[] = [];
  const plain: RunCost[] = [];
  for (let i = 0; i < COST_RUNS; i++) {
    mape.push(await oneRun(lab, counts, log));
    log(`bench: cost run ${i + 1} MAP-E ${JSON.stringify(mape[i])}`);
  }
  await toPlain();
  try {
    for (let i = 0; i < COST_RUNS; i++) {
      plain.push(await oneRun(lab, counts, log));
      log(`bench: cost run ${i + 1} plain ${JSON.stringify(plain[i])}`);
    }
  } finally {
    await toMape();
  }
  const ratio = (f: (r: RunCost) => number) =>
    Number((medianOf(mape.map(f)) / medianOf(plain.map(f))).toFixed(3));
  return {
    mape: summarise(mape),
    plain: summarise(plain),
    ratioMapeToPlain: {
      tcpPerMB: ratio((r) => r.tcpPerMB),
      tcpPerWanPacket: ratio((r) => r.tcpPerWanPacket),
      udpPerPacket: ratio((r) => r.udpPerPacket),
      udpPerWanPacket: ratio((r) => r.udpPerWanPacket),
    },
    goals: { tcpPerMB: "<= 1.05", udpPerPacket: "<= 1.15", spreadPercent: "<= 2" },
    note:
      "guest instructions on vCPU 0 (lan + CE, incl. the iperf3 client), split layout, by the lab's TCG plugin; " +
      `marginal cost between a ${TCP_BYTES[0] >> 20} MB and a ${TCP_BYTES[1] >> 20} MB TCP upload, and between ` +
      `${UDP_DATAGRAMS[0]} and ${UDP_DATAGRAMS[1]} UDP datagrams of ${UDP_PAYLOAD} bytes, unpaced; ` +
      "Mbit/s figures are wall-clock and only indicative",
  };
}
