import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { readStatus } from "../daemon/status-report.ts";
import {
  DEFAULT_LISTEN,
  formatListen,
  isLoopback,
  parseListen,
  startWebServer,
  type ListenAddress,
  type RunningWebServer,
} from "../daemon/web-server.ts";
import type { Finding } from "../diagnose/findings.ts";
import { processRunner, type CommandRunner } from "../host/command-runner.ts";
import { isRoot } from "../host/privilege.ts";
import type { ApiStatus, DoctorView } from "../web/api.ts";
import { webPages } from "../web/assets.ts";
import { runDoctor } from "./doctor-flow.ts";
import { CliError } from "./exit-codes.ts";
import type { Output } from "./output.ts";

export interface ServeFlags {
  listen?: string;
}

/** Several tabs polling every 2 s share one read of the host per second. */
const STATUS_MAX_AGE_MS = 1_000;
/** doctor runs a dozen commands; its verdicts change rarely. */
const DOCTOR_MAX_AGE_MS = 15_000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function doctorView(runner: CommandRunner): Promise<DoctorView> {
  const at = new Date().toISOString();
  let text = "";
  const capture: Output = {
    out: (t) => {
      text += t;
    },
    err: () => undefined,
  };
  try {
    // doctor --json is the documented form of its verdicts: the page reads exactly that
    await runDoctor({ json: true }, capture, runner);
    const doc = JSON.parse(text) as { ok: boolean; findings: Finding[] };
    return { at, ok: doc.ok, findings: doc.findings, error: null };
  } catch (err) {
    return { at, ok: null, findings: [], error: `doctor could not run: ${message(err)}` };
  }
}

/** The /api/status body: readStatus at most once a second, doctor in the background every 15 s. */
export function statusSource(
  runner: CommandRunner,
  clock: () => number = Date.now,
): () => Promise<ApiStatus> {
  let status: { at: number; value: Promise<Omit<ApiStatus, "doctor">> } | null = null;
  let doctor: DoctorView | null = null;
  let doctorAt = 0;
  let doctorRun: Promise<void> | null = null;
  const refreshDoctor = (): Promise<void> => {
    doctorRun ??= doctorView(runner)
      .then((view) => {
        doctor = view;
        doctorAt = clock();
      })
      .finally(() => {
        doctorRun = null;
      });
    return doctorRun;
  };
  const readOnce = async (): Promise<Omit<ApiStatus, "doctor">> => {
    const at = new Date().toISOString();
    try {
      return { schemaVersion: SCHEMA_VERSION, at, status: await readStatus(runner), error: null };
    } catch (err) {
      return { schemaVersion: SCHEMA_VERSION, at, status: null, error: message(err) };
    }
  };
  return async () => {
    // never waited for: the page shows "running…" until the first verdicts are in
    if (doctor === null || clock() - doctorAt > DOCTOR_MAX_AGE_MS) void refreshDoctor();
    if (status === null || clock() - status.at >= STATUS_MAX_AGE_MS)
      status = { at: clock(), value: readOnce() };
    const base = await status.value;
    return { ...base, doctor };
  };
}

function listenFailure(err: unknown, listen: ListenAddress): Error {
  const where = formatListen(listen);
  const code = (err as NodeJS.ErrnoException).code ?? "";
  switch (code) {
    case "EADDRINUSE":
      return new CliError(
        "environment",
        `cannot listen on ${where}: the port is taken (another mapectl serve?); choose another with --listen`,
      );
    case "EADDRNOTAVAIL":
      return new CliError(
        "environment",
        `cannot listen on ${where}: no interface of this host has that address`,
      );
    case "EACCES":
      return new CliError("environment", `cannot listen on ${where}: ports below 1024 need root`);
    default:
      return new CliError("environment", `cannot listen on ${where}: ${message(err)}`);
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export async function startServe(
  flags: ServeFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<RunningWebServer> {
  const text = flags.listen ?? DEFAULT_LISTEN;
  const listen = parseListen(text);
  if (listen === null) {
    throw new CliError(
      "usage",
      `--listen "${text}" is not ADDRESS:PORT with an IP address (e.g. ${DEFAULT_LISTEN}, or [::1]:8146)`,
    );
  }
  if (!isLoopback(listen.host)) {
    output.err(
      `mapectl: warning: serving on ${formatListen(listen)}, not loopback: anyone who can reach it sees this router's parameters, counters, inside hosts and their destinations, with no password`,
    );
  }
  if (!isRoot()) {
    output.err(
      "mapectl: warning: not running as root: conntrack and the nft ruleset cannot be read, so the page shows no port usage and doctor cannot check the NAT",
    );
  }
  try {
    return await startWebServer({ listen, pages: webPages(), status: statusSource(runner) });
  } catch (err) {
    throw listenFailure(err, listen);
  }
}

export async function runServe(flags: ServeFlags, output: Output): Promise<void> {
  const server = await startServe(flags, output);
  output.out(`mapectl serve: ${server.url} (calculator: ${server.url}calc), read-only; Ctrl-C stops`);
  await untilStopped();
  await server.close();
}
