import { CE, INET, NGN, NS, type NamespaceName } from "../../lab/addresses.ts";
import type { Lab } from "../../lab/lab.ts";

// The two paths lab-dataplane compares (MAP-E and plain routing with masquerade) and where their
// receive processing runs.

/** The iperf3 client on lan, pinned to vCPU 0 (the user's side), towards inet's server. */
export const IPERF_CLIENT = [
  ...["taskset", "-c", "0", "iperf3", "-c", INET.hosts[0], "-p", String(INET.iperfPort)],
] as const;

/**
 * Where receive processing runs. Shared: every hop of a forwarded packet runs on the sender's vCPU
 * (veth hands packets on in the same softirq), so the lab's ISP side (the NGN, the BR's decap and
 * checks, inet) costs the path as much as the CE does, which on a real line it never would: the
 * BR is the ISP's hardware. Split: RPS moves what enters the NGN from the CE to vCPU 1 and what
 * enters the CE from the line to vCPU 0, so the user's side (lan + CE) and the ISP's side each
 * have a vCPU of their own, as separate boxes do.
 */
export async function splitSides(lab: Lab, on: boolean): Promise<void> {
  await lab.run(NS.ngn, [
    "sh",
    "-c",
    `echo ${on ? 2 : 0} > /sys/class/net/${NGN.cePort}/queues/rx-0/rps_cpus`,
  ]);
  await lab.run(NS.ce, ["sh", "-c", `echo ${on ? 1 : 0} > /sys/class/net/${CE.wan}/queues/rx-0/rps_cpus`]);
}

/** The same four hops without MAP-E: IPv4 on the line, the ngn routing it to the br, masquerade on the CE. */
export async function plainRouting(lab: Lab, on: boolean): Promise<void> {
  const verb = on ? "add" : "del";
  const steps: [NamespaceName, string[]][] = [
    [NS.ngn, ["ip", "addr", verb, "100.64.0.1/24", "dev", NGN.bridge]],
    [NS.ngn, ["ip", "addr", verb, "100.64.1.1/30", "dev", NGN.brIface]],
    [NS.br, ["ip", "addr", verb, "100.64.1.2/30", "dev", "ngn0"]],
    [NS.ce, ["ip", "addr", verb, "100.64.0.2/24", "dev", CE.wan]],
  ];
  if (on) {
    steps.push(
      [NS.ngn, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]],
      [NS.ngn, ["ip", "route", "add", "192.0.2.0/30", "via", "100.64.1.2"]],
      [NS.ngn, ["ip", "route", "add", "default", "via", "100.64.1.2"]],
      [NS.br, ["ip", "route", "add", "100.64.0.0/24", "via", "100.64.1.1"]],
      [NS.ce, ["ip", "route", "add", "default", "via", "100.64.0.1"]],
    );
  }
  for (const [ns, argv] of on ? steps : steps.reverse()) await lab.exec(ns, argv);
  if (on) {
    // The BR drops IPv4 from inet that maps to no CE (mark 0); mark the plain path's replies first.
    await lab.run(NS.br, ["nft", "-f", "-"], {
      input: `table inet plainmark {\n\tchain pre {\n\t\ttype filter hook prerouting priority mangle - 1; policy accept;\n\t\tip daddr 100.64.0.0/24 meta mark set 0x7fff\n\t}\n}\n`,
    });
    await lab.run(NS.ce, ["nft", "-f", "-"], {
      input: `table ip plain {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname "${CE.wan}" masquerade\n\t}\n}\n`,
    });
  } else {
    await lab.exec(NS.br, ["nft", "delete", "table", "inet", "plainmark"]);
    await lab.exec(NS.ngn, ["ip", "route", "del", "default", "via", "100.64.1.2"]);
    await lab.exec(NS.ngn, ["ip", "route", "del", "192.0.2.0/30"]);
  }
}

/**
 * A candidate fast path measured on top of a path: an nftables flowtable on `devices` (the LAN
 * side and the way out), with established TCP and UDP flows added to it in a table of its own, so
 * the candidate comes and goes without touching mapectl's table.
 */
export async function benchFlowtable(lab: Lab, devices: readonly string[] | null): Promise<void> {
  if (devices === null) {
    await lab.run(NS.ce, ["nft", "delete", "table", "inet", "benchft"]);
    return;
  }
  const list = devices.map((d) => `"${d}"`).join(", ");
  await lab.run(NS.ce, ["nft", "-f", "-"], {
    input:
      `table inet benchft {\n\tflowtable ft {\n\t\thook ingress priority filter;\n\t\tdevices = { ${list} };\n\t}\n` +
      `\tchain forward {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n` +
      `\t\tmeta l4proto { tcp, udp } flow add @ft\n\t}\n}\n`,
  });
}

/**
 * MAP-E as it was before the fast path: mapectl's rule that adds flows to its flowtable deleted
 * (by handle); `mapectl up` puts it back, as it restores any hand edit of its table.
 */
export async function dropFastPathRule(lab: Lab): Promise<void> {
  const chain = await lab.run(NS.ce, ["nft", "-a", "list", "chain", "ip", "mapectl", "forward"]);
  const handle = /flow add @\S+ # handle (\d+)/.exec(chain)?.[1];
  if (handle === undefined) throw new Error(`mapectl's table has no fast path rule:\n${chain}`);
  await lab.run(NS.ce, ["nft", "delete", "rule", "ip", "mapectl", "forward", "handle", handle]);
}

/**
 * Leaves vCPU 0 to the packets: every process that may move (the agent, whatever it starts, the
 * lab's daemons, unbound kernel threads), unbound workqueues and interrupts go to vCPU 1, and the
 * clock-driven per-CPU chores that can be slowed are (the soft-lockup watchdog, vmstat's
 * once-a-second fold). What runs on vCPU 0 then follows the packets rather than the wall clock:
 * a run that takes longer under host load adds no instructions of its own. The senders are
 * started with `taskset -c 0` again. Processes and interrupts that cannot move are left alone.
 */
export async function quietVcpu0(lab: Lab): Promise<void> {
  const script = [
    'for d in /proc/[0-9]*; do taskset -a -p -c 1 "${d#/proc/}" >/dev/null 2>&1; done',
    "echo 2 > /sys/devices/virtual/workqueue/cpumask",
    'for f in /proc/irq/*/smp_affinity_list; do echo 1 > "$f"; done 2>/dev/null',
    "sysctl -q -w kernel.watchdog=0 vm.stat_interval=120",
    "true",
  ].join("\n");
  await lab.run(NS.ce, ["sh", "-c", script]);
}

/**
 * Kernel parameters of the bench's boot that keep per-CPU chores off vCPU 0 from the start: RCU
 * callbacks run in kernel threads (which quietVcpu0 moves to vCPU 1) instead of vCPU 0's softirq,
 * the "power efficient" workqueues (conntrack's garbage collector among them, which otherwise
 * re-queues itself on the CPU it ran on) are unbound and so follow the workqueue mask, and
 * interrupts start on vCPU 1. The tick cannot leave vCPU 0: Debian's kernel keeps the boot CPU
 * for timekeeping, whatever nohz_full says.
 */
export const QUIET_VCPU0_KERNEL_ARGS = ["rcu_nocbs=0", "workqueue.power_efficient=1", "irqaffinity=1"];

/**
 * Keeps what the path's memory and neighbours cost per packet from following the host's load:
 *  - slab pages stay with their cache when they empty (min_partial 256 per cache) instead of
 *    going back to the page allocator: vCPU 0 allocates the packets and vCPU 1 frees most of
 *    them, so without this each slab emptied on vCPU 1 was discarded and vCPU 0 took a new page,
 *    which Debian's kernel zeroes (init_on_alloc) and TCG counts byte by byte; how many it took
 *    followed how far vCPU 1 lagged (clear_page_erms 38–170 instructions per datagram apart
 *    between runs). Each allocation is still zeroed (memset_erms), as the path's own cost.
 *  - neighbours on the user's side stay confirmed for an hour (base_reachable_time): a UDP flow
 *    confirms none, so every 15–45 s of wall clock its next hop went stale and was probed again,
 *    and the packets meanwhile took the resolving output path (neigh_resolve_output): a cost per
 *    second, not per packet, which a run slowed by the host paid more of.
 */
export async function steadyPath(lab: Lab): Promise<void> {
  await lab.run(NS.ce, [
    "sh",
    "-c",
    'for f in /sys/kernel/slab/*/min_partial; do echo 256 > "$f"; done 2>/dev/null; true',
  ]);
  const neigh = "/proc/sys/net/ipv[46]/neigh/*/base_reachable_time_ms";
  for (const ns of [NS.lan, NS.ce])
    await lab.run(ns, ["sh", "-c", `for f in ${neigh}; do echo 3600000 > "$f"; done`]);
}
