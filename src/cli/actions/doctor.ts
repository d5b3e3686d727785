import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { existsSync } from "node:fs";
import { runChecks, type DoctorInput, type OtherLine } from "../../diagnose/checks.ts";
import type { Finding } from "../../diagnose/findings.ts";
import { processRunner, type CommandRunner } from "../../host/command-runner.ts";
import {
  isVyos,
  observeForDoctor,
  readBootTable,
  readNeighbours,
  readRuleset,
  routeGet,
} from "../../host/doctor-observe.ts";
import { probeIcmp, probeTcp, probeUdp, withCapture, type ProbeOutcome } from "../../host/probes.ts";
import { readPcap } from "../../diagnose/pcap.ts";
import { countCapture, probeFinding } from "../../diagnose/probe-report.ts";
import { observeHost } from "../../host/observe.ts";
import { loadState } from "../../host/state-store.ts";
import type { AppliedState } from "../../plan/reconcile.ts";
import type { HostState } from "../../plan/observed.ts";
import type { RuleTable } from "../../rules/table.ts";
import { isMapeError } from "../../mape/errors.ts";
import { formatIpv6Prefix, ipv6PrefixContains, parseIpv6Prefix } from "../../mape/ipv6.ts";
import { detectPrefix, expectedParameters } from "../../plan/desired.ts";
import { shippedNotMape } from "../../rules/shipped.ts";
import { ExitCode, type ExitCodeValue } from "../exit-codes.ts";
import { printJson, type Output } from "../output.ts";
import { DEFAULT_CONFIG } from "../plan-options.ts";
import { loadRuleTables } from "../rule-tables.ts";
import { findTunnel } from "../../diagnose/checks.ts";

export interface DoctorFlags {
  config?: string;
  wan?: string;
  prefix?: string;
  br?: string;
  rulesFile?: string[];
  json?: boolean;
  vyos?: boolean;
  probe?: boolean;
  probeTarget?: string;
  /** map-e, ds-lite, ipip or auto: which method's checks (default: the applied plan's). */
  method?: string;
  aftr?: string;
  resolver?: string[];
}

const MARK = { ok: "✓", warn: "!", fail: "✗" } as const;

function describe(findings: readonly Finding[], vyos: boolean, header: string): string {
  const failing = findings.filter((f) => f.verdict !== "ok");
  const lines = [header, ""];
  if (failing.length === 0)
    lines.push("No problems found: the MAP-E configuration matches what this line needs.", "");
  // Several findings often share one fix (the NAT table, VyOS's tun0 definition): print it once.
  const printed = new Map<string, string>();
  for (const f of failing) {
    lines.push(`${MARK[f.verdict]} [${f.id}] ${f.summary}`);
    const fix = vyos && f.vyosFix !== undefined ? f.vyosFix : f.fix;
    const key = fix.join("\n");
    const earlier = printed.get(key);
    if (fix.length > 0 && earlier !== undefined) {
      lines.push(`    fix: the same as for [${earlier}] above`);
    } else if (fix.length > 0) {
      printed.set(key, f.id);
      lines.push(`    fix${vyos && f.vyosFix !== undefined ? " (configure mode)" : ""}:`);
      for (const command of fix) lines.push(...command.split("\n").map((l) => `      ${l}`));
    }
    lines.push("");
  }
  const passed = findings.filter((f) => f.verdict === "ok");
  if (passed.length > 0) lines.push(`${MARK.ok} passed: ${passed.map((f) => f.id).join(", ")}`);
  return lines.join("\n");
}

/** A refused connection is an answer too: the SYN reached the target and its RST came back. */
export function refusedIsAnswer(outcome: ProbeOutcome): ProbeOutcome {
  return !outcome.ok && /ECONNREFUSED/.test(outcome.detail)
    ? { ...outcome, ok: true, detail: "refused (the path works both ways; nothing listens there)" }
    : outcome;
}

async function probe(
  runner: CommandRunner,
  tunnel: string,
  wan: string,
  br: string,
  target: string,
): Promise<Finding> {
  const counters = async () =>
    (await observeHost(runner)).links.find((l) => l.name === tunnel)?.stats ?? null;
  const before = await counters();
  const { result: steps, pcap } = await withCapture(wan, async () => [
    await probeIcmp(runner, target, 3),
    await probeUdp(target, 2000),
    refusedIsAnswer(await probeTcp(target, 53, 2000)),
  ]);
  const after = await counters();
  let capture: ReturnType<typeof countCapture> = {
    toBr: null,
    fromBr: null,
    fromOthers: [],
    withDestOptions: null,
  };
  if (pcap !== null) {
    try {
      capture = countCapture(readPcap(pcap), br);
    } catch {
      // counters alone still tell the story
    }
  }
  return probeFinding(
    {
      steps,
      tunnelTx: before === null || after === null ? null : after.txPackets - before.txPackets,
      tunnelRx: before === null || after === null ? null : after.rxPackets - before.rxPackets,
      ...capture,
    },
    br,
  );
}

/** What a not-MAP-E prefix is instead (DS-Lite and its AFTR), from the shipped table. */
function otherLine(prefix: { value: bigint; length: number } | null): OtherLine | null {
  if (prefix === null) return null;
  const entry = shippedNotMape().find((n) => ipv6PrefixContains(n.prefix, prefix));
  return entry === undefined
    ? null
    : { kind: entry.kind, service: entry.service, aftr: entry.aftr, prefix: formatIpv6Prefix(prefix) };
}

/**
 * What doctor compares the host with: the parameters the tables give for the prefix (given, or seen
 * on the WAN), or why there are none.
 */
function expectedForDoctor(
  flags: DoctorFlags,
  host: HostState,
  wan: string | null,
  lan: readonly string[],
  table: RuleTable,
): NonNullable<DoctorInput["expected"]> {
  let expected: NonNullable<DoctorInput["expected"]>;
  let prefixFrom = "";
  let prefix: ReturnType<typeof parseIpv6Prefix> | null = null;
  try {
    prefix = flags.prefix === undefined ? null : parseIpv6Prefix(flags.prefix);
    let widen = false;
    if (prefix === null && wan !== null) {
      const detected = detectPrefix(host, wan, lan);
      if (detected !== null) {
        prefix = detected.prefix;
        widen = detected.widen;
        prefixFrom = detected.how;
      }
    } else if (prefix !== null) prefixFrom = "--prefix";
    if (prefix !== null) {
      const settings = {
        source: "tables",
        rule: null,
        overrides: flags.br === undefined ? {} : { br: flags.br },
        interfaceId: null,
      } as const;
      const { resolved } = expectedParameters(settings, { prefix, widen }, table, shippedNotMape());
      expected = { resolved, prefixFrom };
    } else {
      expected = {
        error: `no IPv6 prefix found on ${wan ?? "the WAN"} (no delegated prefix, no RA /64): parameters cannot be checked; give --prefix`,
        notMape: false,
      };
    }
  } catch (err) {
    if (!isMapeError(err)) throw err;
    expected = {
      error: err.message,
      notMape: err.code === "NOT_MAPE_LINE" || err.code === "NO_MATCHING_RULE",
      line: err.code === "NOT_MAPE_LINE" ? otherLine(prefix) : null,
    };
  }
  return expected;
}

/**
 * DS-Lite and IPIP lines have their own checks; only --method, --aftr, a configuration or an applied
 * plan of theirs can say so, and none is read (nor the configuration's parser loaded) on a router
 * that has none of them. Null: the line is judged as MAP-E.
 */
async function otherMethodDoctor(
  flags: DoctorFlags,
  output: Output,
  runner: CommandRunner,
  applied: AppliedState | null,
): Promise<ExitCodeValue | null> {
  if (flags.method === "map-e") return null;
  const method = applied?.plan.method;
  const asked = flags.method !== undefined || flags.config !== undefined || existsSync(DEFAULT_CONFIG);
  const dsLite = asked || flags.aftr !== undefined || method === "ds-lite";
  const ipip = asked || method === "ipip";
  if (!dsLite && !ipip) return null;
  const { doctorSettings } = await import("./doctor-report.ts");
  const loaded = doctorSettings(flags);
  if (dsLite) {
    const { runDsLiteDoctor } = await import("./doctor-dslite.ts");
    const verdict = await runDsLiteDoctor(flags, output, runner, applied, loaded);
    if (verdict !== null) return verdict;
  }
  if (!ipip) return null;
  const { runIpipDoctor } = await import("./doctor-ipip.ts");
  return runIpipDoctor(flags, output, runner, applied, loaded);
}

export async function runDoctor(
  flags: DoctorFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<ExitCodeValue> {
  const state = loadState();
  const other = await otherMethodDoctor(flags, output, runner, state);
  if (other !== null) return other;
  // Independent reads at once: each is a process, and processes are slow on a small router.
  const [host, ruleset, neighbourList] = await Promise.all([
    observeForDoctor(runner),
    readRuleset(runner),
    readNeighbours(runner),
  ]);
  const table = loadRuleTables(flags.rulesFile ?? []);
  const preferred = state?.plan.tunnel.name ?? null;
  const tunnel = findTunnel(host, preferred);
  const wan =
    flags.wan ??
    tunnel?.tunnel?.link ??
    state?.plan.wan ??
    host.routes.find((r) => r.family === 6 && r.dst === "default" && r.dev !== null)?.dev ??
    null;

  const expected = expectedForDoctor(flags, host, wan, state?.plan.lan ?? [], table);
  const remote = tunnel?.tunnel?.remote ?? null;
  // mapectl made this router when its tunnel is still there: then `mapectl up` re-applies it all.
  const made = state !== null && host.links.some((l) => l.name === state.plan.tunnel.name);
  const reapply =
    state === null || !made
      ? null
      : existsSync(DEFAULT_CONFIG)
        ? "mapectl up"
        : ["mapectl up", "--wan", state.plan.wan, ...state.plan.lan.flatMap((l) => ["--lan", l])].join(" ");
  const input: DoctorInput = {
    host,
    ruleset,
    neighbours: neighbourList,
    brRoute: remote === null ? null : await routeGet(runner, remote),
    wan,
    expected,
    table,
    vyos: flags.vyos ?? isVyos(),
    preferredTunnel: preferred,
    reapply,
    knownGateway: state?.plan.gateway ?? null,
    bootTable: readBootTable(),
  };
  const result = runChecks(input);
  if (flags.probe === true && tunnel !== null && remote !== null && wan !== null) {
    result.findings.push(await probe(runner, tunnel.name, wan, remote, flags.probeTarget ?? "8.8.8.8"));
  }
  const failures = result.findings.filter((f) => f.verdict === "fail").length;
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: SCHEMA_VERSION,
      method: "map-e",
      ok: failures === 0,
      tunnel: result.tunnel,
      wan,
      prefix: "resolved" in expected ? expected.prefixFrom : null,
      vyos: input.vyos,
      findings: result.findings,
    });
  } else {
    const header =
      failures === 0
        ? `mapectl doctor: no failures${result.tunnel === null ? "" : ` on ${result.tunnel}`}`
        : `mapectl doctor: ${failures} problem${failures === 1 ? "" : "s"}${result.tunnel === null ? "" : ` on ${result.tunnel}`}, most likely cause first`;
    output.out(describe(result.findings, input.vyos, header));
  }
  return failures === 0 ? ExitCode.ok : ExitCode.problemsFound;
}
