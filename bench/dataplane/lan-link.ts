import { fileURLToPath } from "node:url";
import { GUEST, LAN, NS, type NamespaceName } from "../../lab/addresses.ts";
import type { Lab } from "../../lab/lab.ts";
import { buildLabC } from "../../lab/plugins/insn-count.ts";

// The link between the LAN host and the CE's LAN port, for the cost figures (bench/README.md,
// "The LAN link: veth or NIC-like").
//
// veth, the lab's link: the peer receives the sender's own skb, with the headroom the sender
// reserved for a veth's link header (LL_RESERVED_SPACE, 16 bytes); every packet MAP-E tunnels then
// has its head reallocated in ip6_tnl_xmit for the 40-byte IPv6 header and the line's link header.
// No NIC delivers packets like that: a NIC driver's receive path builds a new skb for each frame
// with NET_SKB_PAD (64) + NET_IP_ALIGN of headroom.
//
// tap, NIC-like: two taps (the LAN host's eth0 in lan, the CE's lan0 in ce) joined by
// guest/tap-relay.c on vCPU 1, as QEMU's tap backend joins a virtio NIC to the host. A tap builds
// the CE's receive skb from the frame written to it with NET_SKB_PAD of headroom (tun_build_skb or
// tun_alloc_skb, tun->align), as a NIC's driver does; the virtio-net header keeps GSO and the
// checksum state as the veth had them. Receive processing of both taps is steered to vCPU 0 (RPS),
// where the veth's ran: the relay's copying is on vCPU 1, outside the router's count, like a NIC's
// DMA.

export type LanLink = "veth" | "tap";

const relaySource = fileURLToPath(new URL("../guest/tap-relay.c", import.meta.url));
const RELAY_LOG = `${GUEST.runDir}/tap-relay.log`;

/** The addresses and routes both kinds of link carry, as lab/topology.ts gives the veth. */
async function address(lab: Lab): Promise<void> {
  await lab.run(NS.lan, ["ip", "link", "set", LAN.clientIface, "up"]);
  await lab.run(NS.lan, ["ip", "addr", "add", `${LAN.client}/${LAN.prefixLength}`, "dev", LAN.clientIface]);
  await lab.run(NS.lan, ["ip", "route", "add", "0.0.0.0/0", "via", LAN.gateway]);
  await lab.run(NS.ce, ["ip", "link", "set", LAN.ceIface, "up"]);
  await lab.run(NS.ce, ["ip", "addr", "add", `${LAN.gateway}/${LAN.prefixLength}`, "dev", LAN.ceIface]);
}

/** Every receive on `iface` in `ns` handled on vCPU 0 (RPS), whoever wrote the frame. */
async function receiveOnVcpu0(lab: Lab, ns: NamespaceName, iface: string): Promise<void> {
  await lab.run(ns, ["sh", "-c", `echo 1 > /sys/class/net/${iface}/queues/rx-0/rps_cpus`]);
}

let relayPid: number | null = null;

/**
 * Replaces the LAN link by `kind`, with the same names and addresses. mapectl's table names lan0
 * (its flowtable holds the device itself), so the caller takes MAP-E down before and up after.
 */
export async function useLanLink(lab: Lab, kind: LanLink): Promise<void> {
  // a veth goes with its peer; the taps one by one
  await lab.run(NS.lan, ["ip", "link", "del", LAN.clientIface]);
  await lab.exec(NS.ce, ["ip", "link", "del", LAN.ceIface]);
  if (relayPid !== null) {
    await lab.guest.stop(relayPid);
    relayPid = null;
  }
  if (kind === "veth") {
    await lab.run(NS.lan, [
      ...["ip", "link", "add", LAN.clientIface, "type", "veth"],
      ...["peer", "name", LAN.ceIface, "netns", NS.ce],
    ]);
  } else {
    await lab.guest.run(null, ["modprobe", "tun"]);
    await lab.run(NS.lan, ["ip", "tuntap", "add", "dev", LAN.clientIface, "mode", "tap", "vnet_hdr"]);
    await lab.run(NS.ce, ["ip", "tuntap", "add", "dev", LAN.ceIface, "mode", "tap", "vnet_hdr"]);
    const relay = buildLabC(relaySource, "tap-relay", false);
    // `ip netns add` keeps each namespace at /run/netns/<name>, which the relay enters per tap
    const ends = [`/run/netns/${NS.lan}`, LAN.clientIface, `/run/netns/${NS.ce}`, LAN.ceIface];
    const argv = ["taskset", "-c", "1", relay, ...ends];
    relayPid = await lab.guest.start(null, "tap-relay", argv, RELAY_LOG);
    for (let i = 0; i < 50 && !(await lab.guest.readText(RELAY_LOG)).includes("ready"); i++)
      await new Promise((r) => setTimeout(r, 200));
    const log = await lab.guest.readText(RELAY_LOG);
    if (!log.includes("ready")) throw new Error(`tap-relay did not start: ${log.trim()}`);
  }
  await address(lab);
  if (kind === "tap") {
    // the relay writes on vCPU 1; the user's side receives on vCPU 0, where the veth's peer did
    await receiveOnVcpu0(lab, NS.lan, LAN.clientIface);
    await receiveOnVcpu0(lab, NS.ce, LAN.ceIface);
  }
}
