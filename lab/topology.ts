import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BORDER_RELAYS, BR_NS, CE, GUEST, INET, LAN, NGN, NS } from "./addresses.ts";
import {
  brRuleset,
  brTunnelBatch,
  brTunnelTeardown,
  servedCes,
  type BrOptions,
  type ServedCe,
} from "./border-relays.ts";
import type { Guest } from "./guest.ts";
import { keaConfig, radvdConfig, unboundConfig, v6migAnswer, v6migTxt } from "./ngn-config.ts";
import type { LabPki } from "./pki.ts";

/** Guest paths of the files the topology writes and the logs its daemons keep. */
export const FILES = {
  kea: join(GUEST.runDir, "kea-dhcp6.json"),
  keaDir: join(GUEST.runDir, "kea"),
  radvd: join(GUEST.runDir, "radvd.conf"),
  unbound: join(GUEST.runDir, "unbound.conf"),
  v6mig: join(GUEST.runDir, "v6mig.json"),
  provisioningLog: join(GUEST.runDir, "provisioning.jsonl"),
  inetRecords: join(GUEST.runDir, "inet-records.jsonl"),
  ceDelegated: join(GUEST.runDir, "ce-delegated-prefix"),
  brBatch: join(GUEST.runDir, "br-tunnels.batch"),
  brTeardown: join(GUEST.runDir, "br-tunnels-teardown.batch"),
  brRules: join(GUEST.runDir, "br.nft"),
  logs: join(GUEST.runDir, "logs"),
} as const;

export function logFile(name: string): string {
  return join(FILES.logs, `${name}.log`);
}

function batch(lines: readonly string[]): string {
  return lines.join("\n") + "\n";
}

const SYSCTLS: Record<string, string[]> = {
  [NS.ce]: [
    "net.ipv4.ip_forward=1",
    "net.ipv6.conf.all.forwarding=1",
    // A router that forwards still takes its default route from the NGN's RA.
    `net.ipv6.conf.${CE.wan}.accept_ra=2`,
  ],
  [NS.ngn]: ["net.ipv6.conf.all.forwarding=1"],
  [NS.br]: ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"],
};

/** Each namespace's `ip -batch` lines: its links, addresses and routes. */
function namespaceLines(): Record<string, string[]> {
  return {
    [NS.lan]: [
      "link set lo up",
      `link set ${LAN.clientIface} up`,
      `addr add ${LAN.client}/${LAN.prefixLength} dev ${LAN.clientIface}`,
      `route add 0.0.0.0/0 via ${LAN.gateway}`,
    ],
    [NS.ce]: [
      "link set lo up",
      `link set ${LAN.ceIface} up`,
      `addr add ${LAN.gateway}/${LAN.prefixLength} dev ${LAN.ceIface}`,
      `link set ${CE.wan} up`,
    ],
    [NS.ngn]: [
      "link set lo up",
      `link add ${NGN.bridge} type bridge mcast_snooping 0`,
      // The line's router has one link-local address, fe80::1, and nothing else on the line.
      `link set ${NGN.bridge} addrgenmode none`,
      `link set ${NGN.cePort} master ${NGN.bridge}`,
      `link set ${NGN.cePort} up`,
      `link set ${NGN.bridge} up`,
      `addr add ${NGN.routerLinkLocal}/64 dev ${NGN.bridge} nodad`,
      `addr add ${NGN.dns}/128 dev lo`,
      `addr add ${NGN.provisioningAddress}/128 dev lo`,
      `link set ${NGN.brIface} up`,
      `addr add ${NGN.transit}/${NGN.transitPrefixLength} dev ${NGN.brIface} nodad`,
      ...BORDER_RELAYS.map((br) => `route add ${br.address}/128 via ${BR_NS.transit} dev ${NGN.brIface}`),
    ],
    [NS.br]: [
      "link set lo up",
      ...BORDER_RELAYS.map((br) => `addr add ${br.address}/128 dev lo`),
      `link set ${BR_NS.ngnIface} up`,
      `addr add ${BR_NS.transit}/${NGN.transitPrefixLength} dev ${BR_NS.ngnIface} nodad`,
      `route add ::/0 via ${NGN.transit} dev ${BR_NS.ngnIface}`,
      `link set ${BR_NS.inetIface} up`,
      `addr add ${BR_NS.inetSide}/${INET.prefixLength} dev ${BR_NS.inetIface}`,
      `route add 0.0.0.0/0 via ${INET.address}`,
    ],
    [NS.inet]: [
      "link set lo up",
      "link add dummy0 type dummy",
      "link set dummy0 up",
      ...INET.hosts.map((h) => `addr add ${h}/32 dev dummy0`),
      `link set ${INET.iface} up`,
      `addr add ${INET.address}/${INET.prefixLength} dev ${INET.iface}`,
      `route add 0.0.0.0/0 via ${BR_NS.inetSide}`,
    ],
  };
}

/** Links, addresses and routes of every namespace; what a real network has before anyone configures MAP-E. */
export async function buildLinks(guest: Guest): Promise<void> {
  const root = join(GUEST.runDir, "root.batch");
  await guest.writeFile(
    root,
    batch([
      ...Object.values(NS).map((ns) => `netns add ${ns}`),
      `link add ${LAN.clientIface} netns ${NS.lan} type veth peer name ${LAN.ceIface} netns ${NS.ce}`,
      `link add ${CE.wan} netns ${NS.ce} address ${CE.wanMac} type veth peer name ${NGN.cePort} netns ${NS.ngn}`,
      `link add ${NGN.brIface} netns ${NS.ngn} type veth peer name ${BR_NS.ngnIface} netns ${NS.br}`,
      `link add ${BR_NS.inetIface} netns ${NS.br} type veth peer name ${INET.iface} netns ${NS.inet}`,
    ]),
  );
  // `ip netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf: each namespace gets
  // the resolver it would have (the CE the NGN's, from DHCPv6), none reaches the host's.
  const resolvers: Record<string, string> = {
    [NS.lan]: INET.hosts[0],
    [NS.ce]: NGN.dns,
    [NS.ngn]: NGN.dns,
    [NS.br]: "127.0.0.1",
    [NS.inet]: INET.hosts[0],
  };
  await Promise.all([
    guest.writeFile("/etc/resolv.conf", "nameserver 127.0.0.1\n"),
    ...Object.entries(resolvers).map(([ns, server]) =>
      guest.writeFile(`/etc/netns/${ns}/resolv.conf`, `nameserver ${server}\n`),
    ),
  ]);
  await guest.run(null, ["ip", "-batch", root]);
  await Promise.all(
    Object.entries(namespaceLines()).map(async ([ns, lines]) => {
      const sysctl = SYSCTLS[ns];
      if (sysctl !== undefined)
        await guest.run(null, ["ip", "netns", "exec", ns, "sysctl", "-q", "-w", ...sysctl]);
      const file = join(GUEST.runDir, `${ns}.batch`);
      await guest.writeFile(file, batch(lines));
      await guest.run(null, ["ip", "-n", ns, "-batch", file]);
    }),
  );
}

/** The BRs: per-CE tunnels, reply routing and the nftables checks, for the prefixes delegated now. */
export async function loadBorderRelays(
  guest: Guest,
  prefixes: readonly string[],
  options: BrOptions,
  previous: readonly ServedCe[],
): Promise<ServedCe[]> {
  if (previous.length > 0) {
    await guest.writeFile(FILES.brTeardown, brTunnelTeardown(previous));
    await guest.exec(null, ["ip", "-n", NS.br, "-force", "-batch", FILES.brTeardown]);
  }
  const served = servedCes(prefixes);
  await guest.writeFile(FILES.brBatch, brTunnelBatch(served));
  await guest.writeFile(FILES.brRules, brRuleset(served, options));
  if (served.length > 0) await guest.run(null, ["ip", "-n", NS.br, "-batch", FILES.brBatch]);
  await guest.run(NS.br, ["nft", "-f", FILES.brRules]);
  return served;
}

export interface Daemons {
  [name: string]: number;
}

/** The servers of inet and ngn, started together; each one's log is under FILES.logs. */
export async function startServices(
  guest: Guest,
  repo: string,
  pki: LabPki,
  prefix: string,
): Promise<Daemons> {
  const servers = join(repo, "lab", "guest", "servers.py");
  await Promise.all([
    guest.writeFile(FILES.kea, JSON.stringify(keaConfig(prefix, FILES.keaDir), null, 2)),
    guest.writeFile(FILES.radvd, radvdConfig()),
    guest.writeFile(FILES.unbound, unboundConfig(GUEST.runDir, v6migTxt())),
    guest.writeFile(FILES.v6mig, JSON.stringify(v6migAnswer(prefix), null, 2)),
    guest.writeFile(GUEST.caCert, readFileSync(pki.caCert)),
    guest.writeFile(FILES.inetRecords, ""),
    guest.writeFile(FILES.provisioningLog, ""),
    guest.writeFile(join(FILES.keaDir, ".keep"), ""),
  ]);
  const python = "/usr/bin/python3";
  const entries: [string, (typeof NS)[keyof typeof NS], string[], Record<string, string>?][] = [
    [
      "inet-servers",
      NS.inet,
      [python, servers, "inet", FILES.inetRecords, INET.webAddress, pki.serverCert, pki.serverKey],
    ],
    ["iperf3", NS.inet, ["iperf3", "-s", "-p", String(INET.iperfPort)]],
    ["unbound", NS.ngn, ["unbound", "-d", "-c", FILES.unbound]],
    [
      "provisioning",
      NS.ngn,
      [
        python,
        servers,
        "provisioning",
        NGN.provisioningAddress,
        FILES.v6mig,
        FILES.provisioningLog,
        pki.serverCert,
        pki.serverKey,
      ],
    ],
    [
      "kea-dhcp6",
      NS.ngn,
      ["kea-dhcp6", "-c", FILES.kea],
      { KEA_LOCKFILE_DIR: "none", KEA_PIDFILE_DIR: FILES.keaDir },
    ],
    [
      "radvd",
      NS.ngn,
      ["radvd", "-n", "-C", FILES.radvd, "-p", join(GUEST.runDir, "radvd.pid"), "-m", "stderr"],
    ],
  ];
  const daemons: Daemons = {};
  await Promise.all(
    entries.map(async ([name, ns, argv, env]) => {
      daemons[name] = await guest.start(ns, name, argv, logFile(name), env);
    }),
  );
  return daemons;
}

/** The CE's DHCPv6-PD client: ISC dhclient, DUID-LL as the NGN wants, our hook for the prefix. */
export function dhclientArgv(repo: string, mode: readonly string[] = ["-d", "-v"]): string[] {
  return [
    "dhclient",
    "-6",
    "-P",
    "-D",
    "LL",
    ...mode,
    "-lf",
    join(GUEST.runDir, "dhclient6.leases"),
    "-pf",
    join(GUEST.runDir, "dhclient6.pid"),
    "-sf",
    join(repo, "lab", "guest", "dhclient-pd.sh"),
    CE.wan,
  ];
}
