import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { ipipChecks, type IpipDoctorInput } from "../../diagnose/checks/ipip.ts";
import type { Finding } from "../../diagnose/findings.ts";
import type { CommandRunner } from "../../host/command-runner.ts";
import { routeGet } from "../../host/doctor-observe.ts";
import { ipipAccount } from "../../host/ipip-credentials.ts";
import { loadUpdateRecord } from "../../host/ipip-registration.ts";
import { observeHost } from "../../host/observe.ts";
import { loadState } from "../../host/state-store.ts";
import { planContext } from "../../plan/desired.ts";
import { ipipParameters, ipipPlanOnHost } from "../../plan/desired-ipip.ts";
import type { IpipPlan } from "../../plan/ipip-plan.ts";
import { isIpipPlan } from "../../plan/method.ts";
import type { Settings } from "../../plan/settings.ts";
import { ExitCode, type ExitCodeValue } from "../exit-codes.ts";
import { printJson, type Output } from "../output.ts";
import { DEFAULT_CONFIG } from "../plan-options.ts";
import { settingsFrom } from "../settings.ts";

function isIpipLine(settings: Settings, applied: IpipPlan | null): boolean {
  return (
    applied !== null ||
    settings.method === "ipip" ||
    (settings.method === "auto" && settings.ipip.ipv4 !== null)
  );
}

/** The plan to compare with: the applied one, else the configuration's sheet on this host's prefix. */
function planFor(
  settings: Settings,
  applied: IpipPlan | null,
  host: Awaited<ReturnType<typeof observeHost>>,
): IpipPlan | null {
  if (applied !== null) return applied;
  try {
    return ipipPlanOnHost(settings, planContext(settings, host), ipipParameters(settings, null));
  } catch {
    // no sheet in the configuration (HB46PP's line) or no prefix yet: the record alone speaks
    return null;
  }
}

function accountProblem(settings: Settings): string | null {
  if (settings.ipip.updateUrl === null) return null;
  try {
    ipipAccount(settings);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * doctor on an IPIP line (the applied plan is IPIP, or the configuration asks for it): the update
 * URL's last verdict, the account, the BR's route, the tunnel and the fixed address. null when the
 * line is not IPIP, for MAP-E's doctor to take over.
 */
export async function runIpipDoctor(
  flags: { readonly config?: string; readonly json?: boolean },
  output: Output,
  runner: CommandRunner,
): Promise<ExitCodeValue | null> {
  const state = loadState();
  const applied = state !== null && isIpipPlan(state.plan) ? state.plan : null;
  let loaded: ReturnType<typeof settingsFrom>;
  try {
    loaded = settingsFrom(flags.config === undefined ? {} : { config: flags.config });
  } catch (err) {
    // MAP-E's doctor never needed the configuration: a broken one stops only an IPIP line's
    if (applied !== null || flags.config !== undefined) throw err;
    return null;
  }
  const { settings, configFile } = loaded;
  if (!isIpipLine(settings, applied)) return null;
  const host = await observeHost(runner);
  const plan = planFor(settings, applied, host);
  const input: IpipDoctorInput = {
    plan,
    updateUrl: plan?.update?.url ?? settings.ipip.updateUrl,
    host,
    brRoute: plan === null ? null : await routeGet(runner, plan.br),
    lastUpdate: loadUpdateRecord(),
    accountProblem: accountProblem(settings),
    configFile: configFile ?? DEFAULT_CONFIG,
  };
  const findings = ipipChecks(input);
  report(findings, plan, flags.json === true, output);
  return findings.some((f) => f.verdict === "fail") ? ExitCode.problemsFound : ExitCode.ok;
}

function report(findings: readonly Finding[], plan: IpipPlan | null, json: boolean, output: Output): void {
  const failing = findings.filter((f) => f.verdict === "fail");
  if (json) {
    printJson(output, {
      schemaVersion: SCHEMA_VERSION,
      method: "ipip",
      ok: failing.length === 0,
      tunnel: plan?.tunnel.name ?? null,
      wan: plan?.wan ?? null,
      prefix: null,
      vyos: false,
      findings,
    });
    return;
  }
  const lines = [
    failing.length === 0
      ? "mapectl doctor: IPIP: no failures"
      : `mapectl doctor: IPIP: ${failing.length} problem${failing.length === 1 ? "" : "s"}, most likely cause first`,
    "",
  ];
  for (const f of failing) {
    lines.push(`✗ [${f.id}] ${f.summary}`);
    if (f.fix.length > 0) lines.push("    fix:", ...f.fix.map((c) => `      ${c}`));
    lines.push("");
  }
  const passed = findings.filter((f) => f.verdict === "ok").map((f) => f.id);
  if (passed.length > 0) lines.push(`✓ passed: ${passed.join(", ")}`);
  output.out(lines.join("\n"));
}
