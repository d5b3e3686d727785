import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRoot, Netns } from "../helpers/netns.ts";

/**
 * Servers for the provisioning host tests: real daemons (kea-dhcp6, unbound, an HTTPS server) run
 * inside namespaces these tests create. Everything started here is stopped, and every namespace
 * deleted, by cleanup() — called from after() and, should the runner die, from process exit.
 */

const IP = existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : "ip";
const started: Background[] = [];
const namespaces: Netns[] = [];
const dirs: string[] = [];

export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-provision-"));
  dirs.push(dir);
  return dir;
}

/** A namespace with DAD off, so link-local and test addresses are usable at once. */
export function namespace(prefix: string): Netns {
  const ns = new Netns(prefix);
  namespaces.push(ns);
  ns.ok(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
  return ns;
}

function carrierAndLinkLocal(ns: Netns, ifname: string): boolean {
  const links = JSON.parse(ns.ok(["ip", "-j", "link", "show", "dev", ifname])) as { operstate?: string }[];
  const addrs = ns.ok(["ip", "-6", "addr", "show", "dev", ifname, "scope", "link"]);
  return links[0]?.operstate === "UP" && /inet6 fe80::/.test(addrs) && !/tentative/.test(addrs);
}

/**
 * A veth pair straight into two namespaces (no end ever exists in the host's namespace), returned
 * once both ends have carrier and a link-local address: daemons refuse an interface that is "not running".
 */
export async function link(a: Netns, aName: string, b: Netns, bName: string): Promise<void> {
  const r = spawnSync(
    IP,
    ["link", "add", aName, "netns", a.name, "type", "veth", "peer", "name", bName, "netns", b.name],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`ip link add ${aName}/${bName}: ${r.stderr}`);
  a.ok(["ip", "link", "set", aName, "up"]);
  b.ok(["ip", "link", "set", bName, "up"]);
  const end = Date.now() + 10_000;
  while (!carrierAndLinkLocal(a, aName) || !carrierAndLinkLocal(b, bName)) {
    if (Date.now() > end) throw new Error(`veth ${aName}/${bName} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The tests' line: a scratch directory and two namespaces, <tag>-ce with wan0 and <tag>-ngn with
 * ngn0, joined by a veth pair; `ceAddress` (a /64 on wan0) and `ngnAddresses` (on ngn0) added when given.
 */
export async function line(
  tag: string,
  ceAddress?: string,
  ngnAddresses: readonly string[] = [],
): Promise<{ dir: string; ce: Netns; ngn: Netns }> {
  const dir = scratchDir();
  const ce = namespace(`${tag}-ce`);
  const ngn = namespace(`${tag}-ngn`);
  await link(ce, "wan0", ngn, "ngn0");
  if (ceAddress !== undefined) ce.ok(["ip", "-6", "addr", "add", `${ceAddress}/64`, "dev", "wan0", "nodad"]);
  for (const a of ngnAddresses) ngn.ok(["ip", "-6", "addr", "add", `${a}/64`, "dev", "ngn0", "nodad"]);
  return { dir, ce, ngn };
}

/** A process in a namespace, with its output kept for assertions and for failure messages. */
export class Background {
  readonly child: ChildProcess;
  readonly name: string;
  output = "";
  exited: number | null = null;

  constructor(ns: Netns, argv: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.name = argv[0] ?? "?";
    this.child = spawn(IP, ["netns", "exec", ns.name, ...argv], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child.on("exit", (code, signal) => {
      this.exited = code ?? (signal === null ? -1 : 128);
    });
    started.push(this);
  }

  /** Resolves once the output matches; rejects with the output if the process dies or time runs out. */
  async ready(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.exited !== null) throw new Error(`${this.name} exited with ${this.exited}:\n${this.output}`);
      if (Date.now() > end) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.exited !== null || this.child.pid === undefined) return;
    const gone = new Promise<void>((resolve) => {
      this.child.once("exit", () => {
        resolve();
      });
    });
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(timer);
  }
}

export async function cleanup(): Promise<void> {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  for (const ns of namespaces.splice(0)) ns.destroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

process.on("exit", () => {
  // Last resort when the runner is torn down before after() ran: nothing may outlive the tests.
  for (const p of started) if (p.exited === null && p.child.pid !== undefined) p.child.kill("SIGKILL");
  for (const ns of namespaces) spawnSync(IP, ["netns", "del", ns.name]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export function runTool(argv: readonly string[], input?: string): string {
  const [file, ...args] = argv;
  const r = spawnSync(file ?? "", args, { encoding: "utf8", input, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr || r.error?.message || ""}`);
  return r.stdout;
}

/** A CA of this run, another CA, and a server certificate for prov.mapectl.test and other.mapectl.test. */
export function makePki(dir: string): { ca: string; cert: string; key: string; otherCa: string } {
  const p = (name: string): string => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const selfSigned = (name: string, subject: string): void => {
    runTool([
      "openssl",
      "req",
      "-x509",
      ...ec,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.pem`),
      "-days",
      "2",
      "-subj",
      subject,
    ]);
  };
  selfSigned("ca", "/CN=mapectl test CA");
  selfSigned("other-ca", "/CN=not the provider");
  runTool([
    "openssl",
    "req",
    ...ec,
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
    "-subj",
    "/CN=prov.mapectl.test",
  ]);
  writeFileSync(
    p("ext.cnf"),
    "subjectAltName=DNS:prov.mapectl.test,DNS:other.mapectl.test\nextendedKeyUsage=serverAuth\n",
  );
  runTool([
    "openssl",
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-out",
    p("server.pem"),
    "-days",
    "2",
    "-extfile",
    p("ext.cnf"),
  ]);
  return { ca: p("ca.pem"), cert: p("server.pem"), key: p("server.key"), otherCa: p("other-ca.pem") };
}

/**
 * kea-dhcp6 on the NGN side's ngn0 with one subnet (`subnet` adds its prefix, pools and options),
 * logging to stdout, started in `dir` and returned once it says it has started.
 */
export async function startKea(
  ngn: Netns,
  dir: string,
  serverId: string,
  subnet: Record<string, unknown>,
): Promise<Background> {
  const config = {
    Dhcp6: {
      "interfaces-config": { interfaces: ["ngn0"] },
      "lease-database": { type: "memfile", persist: false },
      "server-id": { type: "LL", htype: 1, identifier: serverId, persist: false },
      subnet6: [{ id: 1, interface: "ngn0", ...subnet }],
      loggers: [{ name: "kea-dhcp6", output_options: [{ output: "stdout" }], severity: "INFO" }],
    },
  };
  const file = join(dir, "kea-dhcp6.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  const kea = new Background(ngn, ["kea-dhcp6", "-c", file], { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir });
  await kea.ready(/DHCP6_STARTED/);
  return kea;
}

/** The fields of a source's report in `provision --json` that every provisioning test reads. */
export interface SourceReport {
  source: string;
  ok: boolean;
  status: string;
  error: string | null;
  details: Record<string, unknown>;
}

/** A source's report with the rule it found. */
export interface RuleReport extends SourceReport {
  rules: Record<string, unknown>[];
  br: string | null;
  ceInterfaceId: string | null;
}

export interface ProvisionRun {
  readonly code: number;
  readonly stderr: string;
  /** One report per source asked, in order; each test file types the fields it reads. */
  readonly sources: unknown[];
  readonly chosen: Record<string, unknown> | null;
}

/** Why a provisioning host test is skipped; these tests build namespaces and run servers in them. */
export const skip = !isRoot() && "needs root (network namespaces)";

/** `mapectl provision … --json` in the CE's namespace; fails the test when stdout is not JSON. */
export function provisionJson(
  ce: Netns,
  cli: string,
  args: readonly string[],
  stateDir: string,
): ProvisionRun {
  const r = ce.run([process.execPath, cli, "provision", ...args, "--json"], undefined, {
    MAPECTL_STATE_DIR: stateDir,
  });
  try {
    const doc = JSON.parse(r.stdout) as { sources: unknown[]; chosen: Record<string, unknown> | null };
    return { code: r.code, stderr: r.stderr, sources: doc.sources, chosen: doc.chosen };
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}
