import { createSocket, type Socket } from "node:dgram";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { duidLl } from "../provision/dhcpv6.ts";
import type { Clock, Dhcpv6Transport } from "../provision/dhcpv6-exchange.ts";
import type { Dhcpv6Io, Dhcpv6OpenResult } from "../provision/dhcpv6-source.ts";

const CLIENT_PORT = 546;
const SERVER_PORT = 547;
/** All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1). */
const ALL_SERVERS = "ff02::1:2";

/** Clients that hold port 546 on the systems mapectl runs on, for a message that names the culprit. */
const KNOWN_CLIENTS: Readonly<Record<string, string>> = {
  dhcp6c: "wide-dhcpv6 (VyOS's DHCPv6 client, dhcp6c@<interface>.service)",
  dhclient: "ISC dhclient",
  odhcp6c: "odhcp6c",
  "systemd-network": "systemd-networkd",
  "systemd-networkd": "systemd-networkd",
  NetworkManager: "NetworkManager",
  dhcpcd: "dhcpcd",
};

interface PortOwner {
  readonly pid: number;
  readonly command: string;
}

/** Which processes hold UDP port 546, from /proc (what `ss -lunp` reads too), so no tool is needed. */
export function findPortOwners(port: number = CLIENT_PORT): PortOwner[] {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/udp6", "/proc/net/udp"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const inode = cols[9];
      if (local?.endsWith(`:${hexPort}`) === true && inode !== undefined && inode !== "0") inodes.add(inode);
    }
  }
  if (inodes.size === 0) return [];
  const owners: PortOwner[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return [];
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] !== undefined && inodes.has(m[1])) {
        let command = "?";
        try {
          command = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        } catch {
          // The process may have exited between the two reads.
        }
        owners.push({ pid: Number(pid), command });
        break;
      }
    }
  }
  return owners;
}

export function portInUseMessage(ifname: string, owners: readonly PortOwner[]): string {
  const who =
    owners.length === 0
      ? "another process (run `ss -lunp 'sport = :546'` to see which)"
      : owners
          .map(
            (o) =>
              `${o.command} (pid ${o.pid}${KNOWN_CLIENTS[o.command] === undefined ? "" : `, ${KNOWN_CLIENTS[o.command] ?? ""}`})`,
          )
          .join(", ");
  return `UDP port 546 on ${ifname} is already used by ${who}, the system's DHCPv6 client: mapectl cannot run its own DHCPv6 exchange next to it; ask for S46 (option 94) in that client's configuration, or use --source hb46pp,tables`;
}

interface LinkInfo {
  readonly linkLocal: string | null;
  readonly mac: string | null;
}

function linkInfo(ifname: string): LinkInfo | null {
  const entries = networkInterfaces()[ifname];
  if (entries === undefined) return null;
  const ll = entries.find((e) => e.family === "IPv6" && e.address.toLowerCase().startsWith("fe80:"));
  const mac = entries.find((e) => e.mac !== "00:00:00:00:00:00")?.mac ?? null;
  return { linkLocal: ll === undefined ? null : ll.address.replace(/%.*$/, ""), mac };
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function bind(socket: Socket, address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(err);
    };
    socket.once("error", onError);
    socket.bind({ address, port: CLIENT_PORT, exclusive: true }, () => {
      socket.off("error", onError);
      resolve();
    });
  });
}

/** A DHCPv6 client socket on `ifname`: bound to its link-local address, port 546, talking to ff02::1:2. */
class UdpTransport implements Dhcpv6Transport {
  readonly #socket: Socket;
  readonly #ifname: string;
  readonly #queue: Uint8Array[] = [];
  #waiter: ((datagram: Uint8Array | null) => void) | null = null;
  #closed = false;

  constructor(socket: Socket, ifname: string) {
    this.#socket = socket;
    this.#ifname = ifname;
    socket.on("message", (msg, rinfo) => {
      // Servers and relays answer from port 547 (RFC 8415 §7.2); anything else is not for us.
      if (rinfo.port !== SERVER_PORT) return;
      const waiter = this.#waiter;
      if (waiter !== null) {
        this.#waiter = null;
        waiter(new Uint8Array(msg));
      } else this.#queue.push(new Uint8Array(msg));
    });
    // A socket error after binding (e.g. the interface went away) ends the wait like a timeout would.
    socket.on("error", () => {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter?.(null);
    });
  }

  async send(message: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.send(message, SERVER_PORT, `${ALL_SERVERS}%${this.#ifname}`, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  receive(timeoutMs: number): Promise<Uint8Array | null> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve(null);
      }, timeoutMs);
      this.#waiter = (datagram) => {
        clearTimeout(timer);
        resolve(datagram);
      };
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

const systemClock: Clock = { now: () => performance.now() };

/**
 * Opens port 546 on the WAN. Node has no SO_BINDTODEVICE, so the socket is bound to the interface's
 * link-local address (scoped, hence that interface only) rather than to [::].
 */
export async function openDhcpv6Transport(ifname: string): Promise<Dhcpv6OpenResult> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const info = linkInfo(ifname);
    if (info === null)
      return { ok: false, status: "no-interface", message: `interface ${ifname} does not exist` };
    if (info.mac === null) {
      return {
        ok: false,
        status: "no-interface",
        message: `${ifname} has no link-layer address to build a DUID from`,
      };
    }
    if (info.linkLocal === null) {
      if (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      return {
        ok: false,
        status: "no-interface",
        message: `${ifname} has no IPv6 link-local address (is the link up with IPv6 enabled?)`,
      };
    }
    const socket = createSocket({ type: "udp6", reuseAddr: false });
    const address = `${info.linkLocal}%${ifname}`;
    try {
      await bind(socket, address);
    } catch (err) {
      socket.close();
      const code = errnoCode(err);
      if (code === "EADDRINUSE")
        return { ok: false, status: "port-in-use", message: portInUseMessage(ifname, findPortOwners()) };
      if (code === "EACCES") {
        return {
          ok: false,
          status: "no-permission",
          message: "binding UDP port 546 needs root (or CAP_NET_BIND_SERVICE)",
        };
      }
      // A link-local address that is still tentative (DAD) cannot be bound yet.
      if (code === "EADDRNOTAVAIL" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      return {
        ok: false,
        status: "no-interface",
        message: `cannot bind [${address}]:546: ${(err as Error).message}`,
      };
    }
    return {
      ok: true,
      transport: new UdpTransport(socket, ifname),
      duid: duidLl(info.mac),
      bound: `[${address}]:546`,
    };
  }
}

/** The DHCPv6 source's I/O on this host. */
export function hostDhcpv6Io(ifname: string): Dhcpv6Io {
  return { open: () => openDhcpv6Transport(ifname), clock: systemClock, random: Math.random };
}
