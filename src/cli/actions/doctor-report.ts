import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import type { Finding } from "../../diagnose/findings.ts";
import type { Method } from "../../plan/method.ts";
import type { Settings } from "../../plan/settings.ts";
import { printJson, type Output } from "../output.ts";
import type { PlanFlags } from "../plan-options.ts";
import { settingsFrom } from "../settings.ts";

/**
 * The configuration as doctor's flags read it, once per run, or why it could not be read: MAP-E's
 * doctor never needed it, so each method's doctor decides whether a broken one stops it.
 */
export type DoctorSettings =
  { readonly settings: Settings; readonly configFile: string | null } | { readonly error: unknown };

/** What of doctor's flags the configuration is read with (doctor's --json is not one). */
export interface MethodDoctorFlags {
  readonly config?: string;
  readonly wan?: string;
  readonly prefix?: string;
  readonly method?: string;
  readonly aftr?: string;
  readonly resolver?: string[];
  readonly json?: boolean;
}

export function doctorSettings(flags: MethodDoctorFlags): DoctorSettings {
  const planFlags: PlanFlags = {};
  if (flags.config !== undefined) planFlags.config = flags.config;
  if (flags.wan !== undefined) planFlags.wan = flags.wan;
  if (flags.prefix !== undefined) planFlags.prefix = flags.prefix;
  if (flags.method !== undefined) planFlags.method = flags.method;
  if (flags.aftr !== undefined) planFlags.aftr = flags.aftr;
  if (flags.resolver !== undefined) planFlags.resolver = flags.resolver;
  try {
    return settingsFrom(planFlags);
  } catch (error) {
    return { error };
  }
}

/** What a method's doctor (IPIP, DS-Lite) reports besides its findings. */
export interface MethodDoctorReport {
  readonly method: Method;
  /** The method as people write it, for the text's first line. */
  readonly label: string;
  readonly tunnel: string | null;
  readonly wan: string | null;
  /** Where the prefix came from; null when the plan needed none or none was found. */
  readonly prefix: string | null;
}

const MARK = { ok: "✓", warn: "!", fail: "✗" } as const;

/** `doctor`'s output for a method with checks of its own: the JSON document or the text. */
export function reportMethodDoctor(
  findings: readonly Finding[],
  report: MethodDoctorReport,
  json: boolean,
  output: Output,
): void {
  const failing = findings.filter((f) => f.verdict === "fail");
  if (json) {
    printJson(output, {
      schemaVersion: SCHEMA_VERSION,
      method: report.method,
      ok: failing.length === 0,
      tunnel: report.tunnel,
      wan: report.wan,
      prefix: report.prefix,
      vyos: false,
      findings,
    });
    return;
  }
  const lines = [
    failing.length === 0
      ? `mapectl doctor: ${report.label}: no failures`
      : `mapectl doctor: ${report.label}: ${failing.length} problem${failing.length === 1 ? "" : "s"}, most likely cause first`,
    "",
  ];
  for (const f of findings.filter((f) => f.verdict !== "ok")) {
    lines.push(`${MARK[f.verdict]} [${f.id}] ${f.summary}`);
    if (f.fix.length > 0) lines.push("    fix:", ...f.fix.map((c) => `      ${c}`));
    lines.push("");
  }
  const passed = findings.filter((f) => f.verdict === "ok").map((f) => f.id);
  if (passed.length > 0) lines.push(`${MARK.ok} passed: ${passed.join(", ")}`);
  output.out(lines.join("\n"));
}
