// What up, down and status share: the flags, the root check, and how a list of actions and a plan
// are shown.
import { withHostLock } from "../../host/lock.ts";
import { requireRoot } from "../../host/privilege.ts";
import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { ipipSummary } from "../../render/ipip.ts";
import { isIpipPlan, isDsLitePlan, type Plan } from "../../plan/method.ts";
import { dsLiteSummary } from "../../render/dslite.ts";
import { type Action } from "../../plan/reconcile.ts";
import type { ActionJson } from "../json-output.ts";
import type { PlanFlags } from "../plan-options.ts";

export interface ApplyFlags extends PlanFlags {
  json?: boolean;
  dryRun?: boolean;
  nodad?: boolean;
  quiet?: boolean;
}

export function requireRootUnlessDryRun(command: string): void {
  requireRoot(
    `mapectl ${command} changes the network configuration and must run as root (sudo mapectl ${command} …), or add --dry-run`,
  );
}

/** A daemon's converge rarely takes longer; past this the user is told who holds the lock. */
export const CLI_LOCK_WAIT_MS = 3000;

/** Runs up's or down's work under the host lock; a dry run changes nothing, so it does not wait for it. */
export function lockedUnlessDryRun<T>(
  command: "up" | "down",
  dryRun: boolean,
  work: () => Promise<T>,
): Promise<T> {
  return dryRun ? work() : withHostLock(command, CLI_LOCK_WAIT_MS, work);
}

/** The head of up's and down's JSON: the command, whether it was a dry run, whether it changed the host. */
export function changeJson<C extends "up" | "down">(
  command: C,
  dryRun: boolean,
  actions: readonly Action[],
): { schemaVersion: typeof SCHEMA_VERSION; command: C; dryRun: boolean; changed: boolean } {
  return { schemaVersion: SCHEMA_VERSION, command, dryRun, changed: !dryRun && actions.length > 0 };
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

export function actionJson(a: Action): ActionJson {
  return {
    id: a.id,
    summary: a.summary,
    argv: a.apply.argv,
    ...(a.apply.input === undefined ? {} : { input: a.apply.input }),
  };
}

export function describeActions(actions: readonly Action[], dryRun: boolean): string {
  const lines: string[] = [];
  for (const a of actions) {
    lines.push(`  ${dryRun ? "would" : "+"} ${a.summary}`);
    if (dryRun) {
      lines.push(
        `      ${a.apply.argv.map(shellWord).join(" ")}${a.apply.input === undefined ? "" : " <<'EOF'"}`,
      );
      if (a.apply.input !== undefined)
        lines.push(
          ...a.apply.input
            .trimEnd()
            .split("\n")
            .map((l) => `      ${l}`),
          "      EOF",
        );
    }
  }
  return lines.join("\n");
}

export function planSummary(plan: Plan): string {
  if (isDsLitePlan(plan)) return `DS-Lite: ${dsLiteSummary(plan)}`;
  if (isIpipPlan(plan)) return `IPIP: ${ipipSummary(plan)}`;
  const p = plan.parameters;
  const service = typeof p.serviceName === "string" ? `${p.serviceName}: ` : "";
  return `${service}${plan.ipv4Address} PSID ${String(p.psid)}, ${plan.portCount} ports in ${plan.portSets.length} blocks, BR ${plan.br}, CE ${plan.ceAddress}`;
}
