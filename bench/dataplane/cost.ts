import { fileURLToPath } from "node:url";
import { CE, INET, NS } from "../../lab/addresses.ts";
import type { Lab } from "../../lab/lab.ts";
import { buildLabC, readInsnProfile, readInsnWindow, type BlockCount } from "../../lab/plugins/insn-count.ts";
import { parseKallsyms, type KernelSymbol } from "../../lab/plugins/kernel-symbols.ts";
import { quietVcpu0, steadyPath } from "./paths.ts";
import { perUnit, profileReport, spinWaitInsns, windowDifference } from "./profile.ts";
import { traceHeadReallocations, type HeadReallocations } from "./realloc-trace.ts";
import { medianOf, spreadPercent } from "./stats.ts";

// The dataplane's cost in guest instructions on vCPU 0 (the user's side in the split layout),
// counted by the lab's TCG plugin: unlike throughput it does not move with host load.
//
// Each figure is a difference of two transfers that differ only in size (a large one and a
// smaller one), so what every transfer pays once (starting the client, its handshake) cancels,
// and what is left is the cost per extra byte or packet.

/**
 * Bulk TCP upload, lan→inet, by the bench's own sender (guest/flood.c): bytes of the large and the
 * small transfer, its writes, and the pacing rate it caps its socket at (bytes a second, 120
 * Mbit/s, which the path keeps up with under TCG). Paced, TCP sizes its packets by the rate (10
 * segments, 14 480 bytes, once the sender's namespace has tcp_tso_rtt_log 0), not by when ACKs
 * come back: unpaced, the number of packets that carried the same bytes moved with the host's
 * load (4 455–6 344 for 200 MB), and so did the count.
 */
const TCP = { bytes: [100 << 20, 10 << 20], chunk: 128 << 10, rate: 15_000_000, port: 9999 } as const;
/**
 * Small-packet UDP, lan→inet, by the bench's own sender (guest/flood.c): datagrams of 64
 * bytes in the large and the small run, 16 per sendmmsg and a 2 ms sleep after each burst (at
 * most 8000 a second; the number of sleeps is fixed, so the sender's own work does not follow
 * the host's speed). The receiver in inet answers one hello first, as any flow with replies is.
 * The sender stays at most `ahead` datagrams ahead of what the receiver counted (in `progress`, a
 * file in the guest's shared memory), waiting outside its window when it is: the receiver's vCPU
 * does more per datagram than the sender's, and when the host held it off its CPU the queues
 * between them filled, vCPU 0 dropped up to 18 % at vCPU 1's backlog (freeing them itself), and
 * the packets held in the queues took new memory that vCPU 0 zeroed.
 */
const UDP = {
  payload: 64,
  datagrams: [40_000, 4_000],
  burst: 16,
  gapUs: 2000,
  port: 9999,
  ahead: 128,
  progress: "/dev/shm/mapectl-bench-udp-progress",
} as const;
export const COST_RUNS = 3;

const floodSource = fileURLToPath(new URL("../guest/flood.c", import.meta.url));

interface Transfer {
  /** Guest instructions on vCPU 0 and vCPU 1 inside the sender's window. */
  readonly insns: readonly [number, number];
  /** Packets the CE sent on its line side (super-packets for TCP, as GSO keeps them). */
  readonly wanPackets: number;
  /** Packets it received there (TCP: the ACKs, which vCPU 0 forwards to the sender). */
  readonly wanRxPackets: number;
  /** The window's length by the guest's clock. */
  readonly seconds: number;
  /** The UDP sender's sleeps outside its window, waiting for the receiver to catch up. */
  readonly waits: number;
  /** Bytes (TCP) or datagrams (UDP) the receiver got. */
  readonly received: number;
  /** vCPU 0's blocks inside the window. */
  readonly profile: ReadonlyMap<string, BlockCount>;
  /** Of insns[0], the instructions vCPU 0 executed spinning in a lock's slow path (profile.ts). */
  readonly spinInsns: number;
}

interface Counted {
  readonly lab: Lab;
  readonly socket: string;
  readonly flood: string;
  /** The guest's kernel symbols, to tell spin-waiting from work (profile.ts). */
  readonly symbols: readonly KernelSymbol[];
  /** The UDP sender keeps its window open while it waits (`drain`, guest/flood.c). */
  readonly drain: boolean;
}

/** Packets the CE sent and received on its line side so far. */
async function wanPackets(lab: Lab): Promise<{ tx: number; rx: number }> {
  const dir = `/sys/class/net/${CE.wan}/statistics`;
  const text = await lab.run(NS.ce, ["cat", `${dir}/tx_packets`, `${dir}/rx_packets`]);
  const [tx = 0, rx = 0] = text.trim().split("\n").map(Number);
  return { tx, rx };
}

async function blocks(c: Counted): Promise<Map<string, BlockCount>> {
  return new Map((await readInsnProfile(c.socket)).map((b) => [b.key, b]));
}

/**
 * Runs a sender and its receiver, and counts what each vCPU executes inside the sender's window
 * (lab/plugins/insn-count.c): from its first byte to its last, not its start or the agent's
 * latency. Exactly one window must have opened and closed.
 */
async function counted(
  c: Counted,
  receive: () => Promise<number>,
  send: () => Promise<string>,
): Promise<Transfer> {
  const packets0 = await wanPackets(c.lab);
  const profile0 = await blocks(c);
  const before = await readInsnWindow(c.socket);
  const receiving = receive();
  const sent = JSON.parse(await send()) as { seconds: number; waits?: number; windows?: number };
  const received = await receiving;
  const windows = sent.windows ?? 1;
  const after = await readInsnWindow(c.socket);
  const profile1 = await blocks(c);
  const packets1 = await wanPackets(c.lab);
  if (after.opens !== before.opens + windows || after.closes !== before.closes + windows) {
    throw new Error(
      `the sender's windows were seen ${after.opens - before.opens} times opening and ${after.closes - before.closes} closing, not ${windows}`,
    );
  }
  const window = (i: number) => (after.insns[i] ?? 0) - (before.insns[i] ?? 0);
  const profile = windowDifference(profile0, profile1);
  return {
    insns: [window(0), window(1)],
    wanPackets: packets1.tx - packets0.tx,
    wanRxPackets: packets1.rx - packets0.rx,
    seconds: sent.seconds,
    waits: sent.waits ?? 0,
    received,
    profile,
    spinInsns: spinWaitInsns(c.symbols, profile),
  };
}

function tcpTransfer(c: Counted, bytes: number): Promise<Transfer> {
  // the receiver runs on vCPU 1, the ISP's side, and is not part of what is counted
  const at = [INET.hosts[0], String(TCP.port)];
  return counted(
    c,
    async () => {
      const out = await c.lab.run(NS.inet, ["taskset", "-c", "1", c.flood, "tcp-recv", ...at], {
        timeoutMs: 300_000,
      });
      return (JSON.parse(out) as { received: number }).received;
    },
    () =>
      c.lab.run(
        NS.lan,
        ["taskset", "-c", "0", c.flood, "tcp-send", ...at, ...[bytes, TCP.chunk, TCP.rate].map(String)],
        { timeoutMs: 300_000 },
      ),
  );
}

function udpTransfer(c: Counted, datagrams: number): Promise<Transfer> {
  return counted(
    c,
    async () => {
      const argv = [
        c.flood,
        "recv",
        INET.hosts[0],
        String(UDP.port),
        String(datagrams),
        "3000",
        UDP.progress,
      ];
      const out = await c.lab.run(NS.inet, ["taskset", "-c", "1", ...argv], { timeoutMs: 300_000 });
      return (JSON.parse(out) as { received: number }).received;
    },
    () => {
      const sendArgs = [
        ...[INET.hosts[0], UDP.port, datagrams, UDP.payload, UDP.burst, UDP.gapUs, UDP.progress, UDP.ahead],
      ].map(String);
      const drain = c.drain ? ["drain"] : [];
      return c.lab.run(NS.lan, ["taskset", "-c", "0", c.flood, "send", ...sendArgs, ...drain], {
        timeoutMs: 300_000,
      });
    },
  );
}

export interface RunCost {
  /** vCPU 0 instructions per MB (2^20 bytes) of TCP payload, and per packet on the CE's line. */
  readonly tcpPerMB: number;
  readonly tcpPerWanPacket: number;
  /** vCPU 0 instructions per 64-byte UDP datagram sent. */
  readonly udpPerPacket: number;
  /** The same two without the instructions spent spinning in a lock's slow path (profile.ts). */
  readonly tcpPerMBWithoutSpin: number;
  readonly udpPerPacketWithoutSpin: number;
  readonly tcpVcpu1PerMB: number;
  readonly tcpMbps: number;
  /** Datagrams of the large UDP run that did not reach the receiver, in %. */
  readonly udpLostPercent: number;
  /** vCPU 0's instructions per MB of TCP and per UDP datagram by block (large run minus small). */
  readonly tcpProfile: ReadonlyMap<string, BlockCount>;
  readonly udpProfile: ReadonlyMap<string, BlockCount>;
}

async function oneRun(c: Counted, log: (line: string) => void): Promise<RunCost> {
  const tcp = [] as Transfer[];
  for (const bytes of TCP.bytes) tcp.push(await tcpTransfer(c, bytes));
  const udp = [] as Transfer[];
  for (const n of UDP.datagrams) udp.push(await udpTransfer(c, n));
  const brief = (t: Transfer) => ({ ...t, profile: undefined });
  log(`bench: transfers ${JSON.stringify({ tcp: tcp.map(brief), udp: udp.map(brief) })}`);
  const [bigT, smallT] = tcp as [Transfer, Transfer];
  const [bigU, smallU] = udp as [Transfer, Transfer];
  const mb = (TCP.bytes[0] - TCP.bytes[1]) / 2 ** 20;
  const packets = UDP.datagrams[0] - UDP.datagrams[1];
  const work = (t: Transfer) => t.insns[0] - t.spinInsns;
  return {
    tcpPerMB: Math.round((bigT.insns[0] - smallT.insns[0]) / mb),
    tcpPerWanPacket: Math.round(
      (bigT.insns[0] - smallT.insns[0]) / Math.max(1, bigT.wanPackets - smallT.wanPackets),
    ),
    udpPerPacket: Math.round((bigU.insns[0] - smallU.insns[0]) / packets),
    tcpPerMBWithoutSpin: Math.round((work(bigT) - work(smallT)) / mb),
    udpPerPacketWithoutSpin: Math.round((work(bigU) - work(smallU)) / packets),
    tcpVcpu1PerMB: Math.round((bigT.insns[1] - smallT.insns[1]) / mb),
    tcpMbps: Math.round((TCP.bytes[0] * 8) / Math.max(0.001, bigT.seconds) / 1e6),
    udpLostPercent: Number((100 * (1 - bigU.received / UDP.datagrams[0])).toFixed(2)),
    tcpProfile: perUnit(bigT.profile, smallT.profile, mb),
    udpProfile: perUnit(bigU.profile, smallU.profile, packets),
  };
}

/** The figures whose spread and ratio to plain routing the bench reports. */
const FIGURES = {
  tcpPerMB: (r: RunCost) => r.tcpPerMB,
  tcpPerWanPacket: (r: RunCost) => r.tcpPerWanPacket,
  udpPerPacket: (r: RunCost) => r.udpPerPacket,
  tcpPerMBWithoutSpin: (r: RunCost) => r.tcpPerMBWithoutSpin,
  udpPerPacketWithoutSpin: (r: RunCost) => r.udpPerPacketWithoutSpin,
} as const;

const eachFigure = <T>(f: (get: (r: RunCost) => number) => T) =>
  Object.fromEntries(Object.entries(FIGURES).map(([name, get]) => [name, f(get)]));

function summarise(runs: readonly RunCost[]) {
  const pick = (f: (r: RunCost) => number) => runs.map(f);
  return {
    tcpInsnsPerMB: pick((r) => r.tcpPerMB),
    tcpInsnsPerWanPacket: pick((r) => r.tcpPerWanPacket),
    udpInsnsPerPacket: pick((r) => r.udpPerPacket),
    tcpInsnsPerMBWithoutSpin: pick((r) => r.tcpPerMBWithoutSpin),
    udpInsnsPerPacketWithoutSpin: pick((r) => r.udpPerPacketWithoutSpin),
    spreadPercent: eachFigure((get) => spreadPercent(pick(get))),
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
 * first path is the reference of the ratios (plain routing + masquerade). `profile` also counts
 * vCPU 0's instructions per UDP datagram by kernel symbol (see profile.ts).
 */
export async function measureCost(
  lab: Lab,
  paths: readonly CostPath[],
  log: (line: string) => void,
  options: { profile?: boolean; traceReallocations?: boolean; asynchronousLan?: boolean } = {},
) {
  const counts = lab.instructionCounts;
  const socket = lab.insnPluginSocket;
  if (counts === undefined || socket === undefined) {
    throw new Error("the lab was booted without countInstructions (or under KVM)");
  }
  const symbols = parseKallsyms(await lab.run(NS.ce, ["cat", "/proc/kallsyms"]));
  if (symbols.length === 0)
    throw new Error("/proc/kallsyms in the guest showed no addresses (kptr_restrict?)");
  // over a LAN link that hands packets on asynchronously (the taps), the CE works on the packets
  // in flight while the sender waits: its window stays open then (guest/flood.c, DRAIN)
  const drain = options.asynchronousLan === true;
  const c: Counted = { lab, socket, flood: buildLabC(floodSource, "flood", false), symbols, drain };
  await quietVcpu0(lab);
  await steadyPath(lab);
  // without this, TCP adds a whole 64 KB to a packet's size when the path's RTT is short (< 16
  // ms with the default 9), which under TCG it is, and the packets follow cwnd again
  await lab.run(NS.lan, ["sysctl", "-q", "-w", "net.ipv4.tcp_tso_rtt_log=0"]);
  const before = await counts();
  await lab.run(NS.ce, ["sleep", "5"]);
  const after = await counts();
  const results: Record<string, RunCost[]> = {};
  const reallocations: Record<string, (HeadReallocations & { perDatagram: number }) | { error: string }> = {};
  for (const path of paths) {
    await path.enter();
    try {
      // one small transfer of each kind first, not counted: the path's caches, slabs and
      // neighbours are then as every counted transfer finds them
      await tcpTransfer(c, TCP.bytes[1]);
      await udpTransfer(c, UDP.datagrams[1]);
      const runs: RunCost[] = [];
      for (let i = 0; i < COST_RUNS; i++) {
        runs.push(await oneRun(c, log));
        const brief = { ...runs[i], tcpProfile: undefined, udpProfile: undefined };
        log(`bench: cost run ${i + 1} ${path.name} ${JSON.stringify(brief)}`);
      }
      results[path.name] = runs;
      if (options.traceReallocations === true) {
        // a guest without ftrace loses this line of the report, not the figures
        reallocations[path.name] = await traceHeadReallocations(lab, () => udpTransfer(c, UDP.datagrams[1]))
          .then((traced) => ({
            ...traced,
            perDatagram: Number((traced.calls / UDP.datagrams[1]).toFixed(3)),
          }))
          .catch((err: unknown) => ({ error: (err as Error).message }));
        log(`bench: head reallocations ${path.name} ${JSON.stringify(reallocations[path.name])}`);
      }
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
      Object.entries(results).map(([name, runs]) => [name, eachFigure((get) => ratio(runs, get))]),
    ),
    // vCPU 0 with nothing to do, once the bench moved everything it could to vCPU 1
    idleVcpu0InsnsPerSecond: Math.round(((after[0] ?? 0) - (before[0] ?? 0)) / 5),
    ...(options.profile === true
      ? {
          udpProfile: profileReport(symbols, results, (r) => r.udpProfile, "64-byte UDP datagram"),
          tcpProfile: profileReport(symbols, results, (r) => r.tcpProfile, "MB of TCP payload"),
        }
      : {}),
    ...(options.traceReallocations === true ? { udpHeadReallocations: reallocations } : {}),
    goals: { tcpPerMB: "<= 1.05", udpPerPacket: "<= 1.15", spreadPercent: "<= 2" },
    note:
      "guest instructions on vCPU 0 (lan + CE, incl. the senders) inside the senders' windows, split layout, " +
      `by the lab's TCG plugin; marginal cost between a ${TCP.bytes[0] >> 20} MB and a ${TCP.bytes[1] >> 20} MB ` +
      `TCP upload, and between ${UDP.datagrams[0]} and ${UDP.datagrams[1]} UDP datagrams of ${UDP.payload} bytes ` +
      `(${UDP.burst} per ${UDP.gapUs} us); Mbit/s figures are wall-clock and only indicative`,
  };
}
