import { runChecks, type DoctorInput } from "../diagnose/checks.ts";
import type { Finding } from "../diagnose/findings.ts";
import { processRunner, type CommandRunner } from "../host/command-runner.ts";
import { isVyos, readNeighbours, readRuleset, routeGet } from "../host/doctor-observe.ts";
import { probeIcmp, probeTcp, probeUdp, withCapture } from "../host/probes.ts";
import { readPcap } from "../diagnose/pcap.ts";
import { countCapture, probeFinding } from "../diagnose/probe-report.ts";
import { observeHost } from "../host/observe.ts";
import { loadState } from "../host/state-store.ts";
import { MapeError } from "../mape/errors.ts";
import { parseIpv6Prefix, ipv6Mask } from "../mape/ipv6.ts";
import { detectPrefix } from "../plan/desired.ts";
import { resolveParameters } from "../provision/parameters.ts";
import { shippedNotMape } from "../rules/shipped.ts";
import { ExitCode, type ExitCodeValue } from "./exit-codes.ts";
import { printJson, type Output } from "./output.ts";
import { loadRuleTables } from "./rule-tables.ts";
import { findTunnel } from "../diagnose/checks.ts";

export interface DoctorFlags {
  wan?: string;
  prefix?: string;
  br?: string;
  rulesFile?: string[];
  json?: boolean;
  vyos?: boolean;
  probe?: boolean;
  probeTarget?: string;
}

const MARK = { ok: "✓", warn: "!", fail: "✗" } as const;

function describe(findings: readonly Finding[], vyos: boolean, header: string): string {
  const failing = findings.filter((f) => f.verdict !== "ok");
  const lines = [header, ""];
  if (failing.length === 0)
    lines.push("No problems found: the MAP-E configuration matches what this line needs.", "");
  for (const f of failing) {
    lines.push(`${MARK[f.verdict]} [${f.id}] ${f.summary}`);
    const fix = vyos && f.vyosFix !== undefined ? f.vyosFix : f.fix;
    if (fix.length > 0) {
      lines.push(`    fix${vyos && f.vyosFix !== undefined ? " (configure mode)" : ""}:`);
      for (const command of fix) lines.push(...command.split("\n").map((l) => `      ${l}`));
    }
    lines.push("");
  }
  const passed = findings.filter((f) => f.verdict === "ok");
  if (passed.length > 0) lines.push(`${MARK.ok} passed: ${passed.map((f) => f.id).join(", ")}`);
  return lines.join("\n");
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
    await probeTcp(target, 53, 2000),
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

export async function runDoctor(
  flags: DoctorFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<ExitCodeValue> {
  const host = await observeHost(runner);
  const state = loadState();
  const table = loadRuleTables(flags.rulesFile ?? []);
  const preferred = state?.plan.tunnel.name ?? null;
  const tunnel = findTunnel(host, preferred);
  const wan =
    flags.wan ??
    tunnel?.tunnel?.link ??
    state?.plan.wan ??
    host.routes.find((r) => r.family === 6 && r.dst === "default" && r.dev !== null)?.dev ??
    null;

  let expected: DoctorInput["expected"];
  let prefixFrom = "";
  try {
    let prefix = flags.prefix === undefined ? null : parseIpv6Prefix(flags.prefix);
    let widen = false;
    if (prefix === null && wan !== null) {
      const detected = detectPrefix(host, wan, state?.plan.lan ?? []);
      if (detected !== null) {
        prefix = detected.prefix;
        widen = detected.widen;
        prefixFrom = detected.how;
      }
    } else if (prefix !== null) prefixFrom = "--prefix";
    if (prefix !== null) {
      const resolve = (p: typeof prefix & object) =>
        resolveParameters({
          prefix: p,
          table,
          notMape: shippedNotMape(),
          overrides: flags.br === undefined ? undefined : { br: flags.br },
        });
      let resolved = resolve(prefix);
      const len = resolved.params.rule.ipv6Prefix.length + resolved.params.rule.eaBits;
      if (widen && len < prefix.length)
        resolved = resolve({ value: prefix.value & ipv6Mask(len), length: len });
      expected = { resolved, prefixFrom };
    } else {
      expected = {
        error: `no IPv6 prefix found on ${wan ?? "the WAN"} (no delegated prefix, no RA /64): parameters cannot be checked; give --prefix`,
        notMape: false,
      };
    }
  } catch (err) {
    if (!(err instanceof MapeError)) throw err;
    expected = {
      error: err.message,
      notMape: err.code === "NOT_MAPE_LINE" || err.code === "NO_MATCHING_RULE",
    };
  }
  const ruleset = await readRuleset(runner);
  const remote = tunnel?.tunnel?.remote ?? null;
  const input: DoctorInput = {
    host,
    ruleset,
    neighbours: await readNeighbours(runner),
    brRoute: remote === null ? null : await routeGet(runner, remote),
    wan,
    expected,
    table,
    vyos: flags.vyos ?? isVyos(),
    preferredTunnel: preferred,
  };
  const result = runChecks(input);
  if (flags.probe === true && tunnel !== null && remote !== null && wan !== null) {
    result.findings.push(await probe(runner, tunnel.name, wan, remote, flags.probeTarget ?? "8.8.8.8"));
  }
  const failures = result.findings.filter((f) => f.verdict === "fail").length;
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: 1,
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
