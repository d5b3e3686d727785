import { ipipChecks, type IpipDoctorInput } from "../../diagnose/checks/ipip.ts";
import type { CommandRunner } from "../../host/command-runner.ts";
import { routeGet } from "../../host/doctor-observe.ts";
import { ipipAccount } from "../../host/ipip-credentials.ts";
import { loadUpdateRecord } from "../../host/ipip-registration.ts";
import { observeHost } from "../../host/observe.ts";
import { planContext } from "../../plan/desired.ts";
import { ipipParameters, ipipPlanOnHost } from "../../plan/desired-ipip.ts";
import type { IpipPlan } from "../../plan/ipip-plan.ts";
import { isIpipPlan, type Plan } from "../../plan/method.ts";
import type { Settings } from "../../plan/settings.ts";
import { ExitCode, type ExitCodeValue } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { reportMethodDoctor, type DoctorSettings, type MethodDoctorFlags } from "./doctor-report.ts";
import { DEFAULT_CONFIG } from "../plan-options.ts";

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
  flags: MethodDoctorFlags,
  output: Output,
  runner: CommandRunner,
  state: { readonly plan: Plan } | null,
  loaded: DoctorSettings,
): Promise<ExitCodeValue | null> {
  const applied = state !== null && isIpipPlan(state.plan) ? state.plan : null;
  if ("error" in loaded) {
    // a broken configuration stops only an IPIP line's doctor, or one asked for by the flags
    if (applied !== null || flags.config !== undefined || flags.method === "ipip") throw loaded.error;
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
  const shown = {
    method: "ipip",
    label: "IPIP",
    tunnel: plan?.tunnel.name ?? null,
    wan: plan?.wan ?? null,
    prefix: null,
  } as const;
  reportMethodDoctor(findings, shown, flags.json === true, output);
  return findings.some((f) => f.verdict === "fail") ? ExitCode.problemsFound : ExitCode.ok;
}
