import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandRunner } from "./command-runner.ts";

export interface ProbeOutcome {
  readonly name: string;
  readonly target: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** An ICMP echo through the tunnel, with ping's own id handling and timeouts. */
export async function probeIcmp(runner: CommandRunner, target: string, count: number): Promise<ProbeOutcome> {
  const r = await runner.run(["ping", "-n", "-c", String(count), "-W", "1", "-i", "0.2", target], {
    timeoutMs: 5000 + count * 1500,
  });
  const received = /(\d+) received/.exec(r.stdout)?.[1] ?? "0";
  return { name: "icmp", target, ok: Number(received) > 0, detail: `${received} of ${count} echo replies` };
}

/** A DNS query over UDP: any answer proves the UDP path both ways. */
export function probeUdp(target: string, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    // a standard query for "." NS
    const query = Buffer.from([0x4d, 0x45, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
    const timer = setTimeout(() => {
      socket.close();
      resolve({ name: "udp", target: `${target}:53`, ok: false, detail: `no answer in ${timeoutMs} ms` });
    }, timeoutMs);
    socket.on("message", () => {
      clearTimeout(timer);
      socket.close();
      resolve({ name: "udp", target: `${target}:53`, ok: true, detail: "DNS answer received" });
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      socket.close();
      resolve({ name: "udp", target: `${target}:53`, ok: false, detail: err.message });
    });
    socket.send(query, 53, target);
  });
}

export function probeTcp(target: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: target, port, timeout: timeoutMs });
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ name: "tcp", target: `${target}:${port}`, ok, detail });
    };
    socket.on("connect", () => {
      done(true, "connected");
    });
    socket.on("timeout", () => {
      done(false, `no answer in ${timeoutMs} ms`);
    });
    socket.on("error", (err) => {
      done(false, err.message);
    });
  });
}

/**
 * A short WAN capture of IPv4-in-IPv6 (with or without a destination-options header) around `work`.
 * Starts the work only once tcpdump says it is listening: on a slow router tcpdump needs more than a
 * second to open its socket, and packets before that would be missed (and reported as "0 sent").
 */
export async function withCapture<T>(
  wan: string,
  work: () => Promise<T>,
): Promise<{ result: T; pcap: Uint8Array | null }> {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-probe-"));
  const file = join(dir, "wan.pcap");
  const child = spawn(
    "tcpdump",
    // --immediate-mode: without it libpcap hands packets over in blocks (up to a second late), and
    // the last block is lost when tcpdump is stopped right after the probes.
    ["-i", wan, "-U", "--immediate-mode", "-n", "-w", file, "ip6 and (ip6 proto 4 or ip6 proto 60)"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, 10_000);
    let text = "";
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("listening on")) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  try {
    const result = await work();
    if (!listening) return { result, pcap: null };
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    let pcap: Uint8Array | null = null;
    try {
      pcap = readFileSync(file);
    } catch {
      pcap = null;
    }
    return { result, pcap };
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}
