// What up, down and status share: the flags, the root check, and how a list of actions and a plan
// are shown.
import { requireRoot } from "../../host/privilege.ts";
import type { MapePlan } from "../../plan/plan.ts";
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

export function planSummary(plan: MapePlan): string {
  const p = plan.parameters;
  const service = typeof p.serviceName === "string" ? `${p.serviceName}: ` : "";
  return `${service}${plan.ipv4Address} PSID ${String(p.psid)}, ${plan.portCount} ports in ${plan.portSets.length} blocks, BR ${plan.br}, CE ${plan.ceAddress}`;
}
