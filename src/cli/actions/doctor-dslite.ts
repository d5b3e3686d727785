import {
  dsLiteChecks,
  expectationOf,
  type AftrLookup,
  type DsLiteDoctorInput,
  type DsLiteExpectation,
} from "../../diagnose/checks/dslite.ts";
import { resolveAftr } from "../../host/aftr-resolve.ts";
import type { CommandRunner } from "../../host/command-runner.ts";
import { observeForDoctor, readRuleset, routeGet } from "../../host/doctor-observe.ts";
import { planContext, type PlanContext } from "../../plan/desired.ts";
import { dsLitePlanOnHost } from "../../plan/desired-dslite.ts";
import { DS_LITE_TUNNEL_NAME, type DsLitePlan } from "../../plan/dslite-plan.ts";
import { isDsLitePlan, type Plan } from "../../plan/method.ts";
import type { HostState } from "../../plan/observed.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../plan/settings.ts";
import { aftrWithoutNetwork, type AftrParameters } from "../../provision/dslite.ts";
import { shippedAftrNames, shippedNotMape } from "../../rules/shipped.ts";
import { shellCommand } from "../../render/shell.ts";
import { ExitCode, type ExitCodeValue } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { reportMethodDoctor, type DoctorSettings, type MethodDoctorFlags } from "./doctor-report.ts";

/**
 * The line is DS-Lite: --method says so; else the applied plan is DS-Lite; else (nothing applied)
 * the configuration says ds-lite, or auto with an AFTR given.
 */
function isDsLiteLine(flags: MethodDoctorFlags, settings: Settings, applied: Plan | null): boolean {
  if (flags.method === "ds-lite") return true;
  if (flags.method === undefined && applied !== null) return isDsLitePlan(applied);
  if (flags.method === "auto" && applied !== null && isDsLitePlan(applied)) return true;
  return settings.method === "ds-lite" || (settings.method === "auto" && settings.aftr !== null);
}

/**
 * The AFTR doctor asks about: the one given (--aftr, the configuration), else the applied plan's
 * (its name asked again), else the tables'.
 */
function aftrToCheck(settings: Settings, applied: DsLitePlan | null, context: PlanContext | null) {
  if (applied !== null && settings.aftr === null) {
    const a = applied.aftr;
    // a name is asked again: the AFTR's address may have moved since up
    return { ...a, address: a.name === null ? a.address : null } satisfies AftrParameters;
  }
  return aftrWithoutNetwork(settings.aftr, context?.prefix ?? null, shippedNotMape(), shippedAftrNames());
}

interface Found {
  readonly aftr: AftrLookup;
  readonly plan: DsLitePlan | null;
}

/** The AFTR's address now and, with nothing applied, the plan it gives on this host. */
async function lookUp(
  settings: Settings,
  applied: DsLitePlan | null,
  context: PlanContext | null,
  host: HostState,
): Promise<Found> {
  let params: AftrParameters;
  try {
    params = aftrToCheck(settings, applied, context);
  } catch (err) {
    // doctor asks neither HB46PP nor DHCPv6: the AFTR must be applied, given, or in the tables
    const problem = `${(err as Error).message} (doctor asks neither HB46PP nor DHCPv6: give --aftr)`;
    return { aftr: { name: null, from: "none", address: null, problem }, plan: applied };
  }
  try {
    const resolved = await resolveAftr(params, settings.resolvers);
    const plan = applied ?? (context === null ? null : dsLitePlanOnHost(settings, context, host, resolved));
    return {
      aftr: { name: params.name, from: params.from, address: resolved.address, problem: null },
      plan,
    };
  } catch (err) {
    return {
      aftr: { name: params.name, from: params.from, address: null, problem: (err as Error).message },
      plan: applied,
    };
  }
}

/** With no plan: the tunnel mapectl would make, from the settings. */
function expectationFrom(settings: Settings, context: PlanContext | null): DsLiteExpectation {
  return {
    tunnel: settings.tunnelName === DEFAULT_SETTINGS.tunnelName ? DS_LITE_TUNNEL_NAME : settings.tunnelName,
    wan: settings.wan,
    lan: settings.lan,
    mtu: settings.mtu,
    metric: settings.defaultRouteMetric,
    gateway: context?.gateway ?? null,
    local: null,
    addsSource: false,
  };
}

/** `mapectl up` as this line needs it: the configuration's, or the flags doctor was given. */
function reapplyCommand(settings: Settings, configFile: string | null, expect: DsLiteExpectation): string {
  if (configFile !== null && settings.method === "ds-lite") return "mapectl up";
  return shellCommand([
    "mapectl",
    "up",
    "--method",
    "ds-lite",
    ...(expect.wan === null ? [] : ["--wan", expect.wan]),
    ...expect.lan.flatMap((l) => ["--lan", l]),
    ...(settings.aftr === null ? [] : ["--aftr", settings.aftr]),
    ...settings.resolvers.flatMap((r) => ["--resolver", r]),
  ]);
}

function contextOf(settings: Settings, host: HostState): PlanContext | null {
  try {
    return planContext(settings, host);
  } catch {
    // no WAN, prefix or router yet: the checks that need none still run
    return null;
  }
}

/**
 * doctor on a DS-Lite line: the AFTR's name and route, the softwire, the B4 address, the default
 * route, MTU and MSS, and no NAT on the router. null when the line is not DS-Lite.
 */
export async function runDsLiteDoctor(
  flags: MethodDoctorFlags,
  output: Output,
  runner: CommandRunner,
  state: { readonly plan: Plan } | null,
  loaded: DoctorSettings,
): Promise<ExitCodeValue | null> {
  const appliedPlan = state?.plan ?? null;
  if ("error" in loaded) {
    // a broken configuration stops only a line that is DS-Lite by the flags or the applied plan
    if (flags.method === "ds-lite" || (appliedPlan !== null && isDsLitePlan(appliedPlan))) throw loaded.error;
    return null;
  }
  const { settings, configFile } = loaded;
  if (!isDsLiteLine(flags, settings, appliedPlan)) return null;
  const applied = appliedPlan !== null && isDsLitePlan(appliedPlan) ? appliedPlan : null;
  const [host, ruleset] = await Promise.all([observeForDoctor(runner), readRuleset(runner)]);
  settings.wan ??=
    applied?.wan ??
    host.routes.find((r) => r.family === 6 && r.dst === "default" && r.dev !== null)?.dev ??
    null;
  if (settings.lan.length === 0 && applied !== null) settings.lan = [...applied.lan];
  const context = contextOf(settings, host);
  const { aftr, plan } = await lookUp(settings, applied, context, host);
  const expect = plan === null ? expectationFrom(settings, context) : expectationOf(plan);
  const input: DsLiteDoctorInput = {
    host,
    ruleset,
    expect,
    aftr,
    aftrRoute: aftr.address === null ? null : await routeGet(runner, aftr.address),
    reapply: reapplyCommand(settings, configFile, expect),
  };
  const findings = dsLiteChecks(input);
  const shown = {
    method: "ds-lite",
    label: `DS-Lite (AFTR ${aftr.name ?? aftr.address ?? "unknown"})`,
    tunnel: expect.tunnel,
    wan: expect.wan,
    prefix: applied === null ? (context?.prefixFrom ?? null) : null,
  } as const;
  reportMethodDoctor(findings, shown, flags.json === true, output);
  return findings.some((f) => f.verdict === "fail") ? ExitCode.problemsFound : ExitCode.ok;
}
