import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import type { Finding } from "../../diagnose/findings.ts";
import type { Method } from "../../plan/method.ts";
import { printJson, type Output } from "../output.ts";

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
