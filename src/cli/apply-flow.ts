import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { requireRoot } from "../host/privilege.ts";
import { applyActions } from "../host/apply.ts";
import { processRunner, type CommandRunner } from "../host/command-runner.ts";
import { observeHost } from "../host/observe.ts";
import { clearState, loadState } from "../host/state-store.ts";
import { bootTableNote } from "../host/boot-table.ts";
import { converge, flushedNote, forgetBootTable, vyosDriftNote } from "../daemon/converge.ts";
import { readStatus } from "../daemon/status-report.ts";
import type { MapePlan } from "../plan/plan.ts";
import { reconcileDown, type Action } from "../plan/reconcile.ts";
import { printJson, formatFields, type Output } from "./output.ts";
import type { PlanFlags } from "./plan-options.ts";
import { loadRuleTables } from "./rule-tables.ts";
import { settingsFrom } from "./settings.ts";

export interface ApplyFlags extends PlanFlags {
  json?: boolean;
  dryRun?: boolean;
  nodad?: boolean;
  quiet?: boolean;
}

function requireRootUnlessDryRun(command: string): void {
  requireRoot(
    `mapectl ${command} changes the network configuration and must run as root (sudo mapectl ${command} …), or add --dry-run`,
  );
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function actionJson(a: Action): Record<string, unknown> {
  return {
    id: a.id,
    summary: a.summary,
    argv: a.apply.argv,
    ...(a.apply.input === undefined ? {} : { input: a.apply.input }),
  };
}

function describeActions(actions: readonly Action[], dryRun: boolean): string {
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

function summary(plan: MapePlan): string {
  const p = plan.parameters;
  const service = typeof p.serviceName === "string" ? `${p.serviceName}: ` : "";
  return `${service}${plan.ipv4Address} PSID ${String(p.psid)}, ${plan.portCount} ports in ${plan.portSets.length} blocks, BR ${plan.br}, CE ${plan.ceAddress}`;
}

export async function runUp(
  flags: ApplyFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const started = Date.now();
  const dryRun = flags.dryRun === true;
  if (!dryRun) requireRootUnlessDryRun("up");
  const { settings } = settingsFrom(flags);
  const table = loadRuleTables(settings.rulesFiles);
  const result = await converge(settings, table, runner, { nodad: flags.nodad === true, dryRun });
  const { plan, prefixFrom, actions, source, flushed, vyosDrift } = result;
  const durationMs = Date.now() - started;
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: SCHEMA_VERSION,
      command: "up",
      dryRun,
      changed: !dryRun && actions.length > 0,
      prefixFrom,
      source,
      actions: actions.map(actionJson),
      // NAT entries whose translation no longer fits (old address, or old PSID's ports), removed
      flushed,
      vyosDrift,
      ...(result.bootTable === undefined ? {} : { bootTable: result.bootTable }),
      plan,
      durationMs,
    });
    return;
  }
  const boot = bootTableNote(result.bootTable ?? null);
  const drift = [
    ...(vyosDrift.length === 0 ? [] : [`${vyosDriftNote(vyosDrift)}.`]),
    ...(boot === null ? [] : [`${boot}.`]),
  ];
  const flushedLine = flushedNote(result);
  if (flags.quiet === true && actions.length === 0 && drift.length === 0) return;
  const head = [`mapectl up: ${prefixFrom}`, `  ${summary(plan)} (parameters from ${source})`];
  if (actions.length === 0) {
    output.out(
      [
        ...head,
        ...(drift.length === 0
          ? [`MAP-E is already up as planned on ${plan.tunnel.name}: nothing to do.`]
          : ["mapectl's NAPT table is up to date.", ...drift]),
      ].join("\n"),
    );
    return;
  }
  output.out(
    [
      ...head,
      describeActions(actions, dryRun),
      dryRun
        ? `dry run: ${actions.length} change${actions.length === 1 ? "" : "s"} would be made; nothing was changed.`
        : `MAP-E is up: IPv4 ${plan.ipv4Address} through ${plan.tunnel.name} (${actions.length} change${actions.length === 1 ? "" : "s"} in ${(durationMs / 1000).toFixed(1)} s).`,
      ...(flushedLine === null ? [] : [`${flushedLine.charAt(0).toUpperCase()}${flushedLine.slice(1)}.`]),
      ...drift,
    ].join("\n"),
  );
}

export async function runDown(
  flags: ApplyFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const dryRun = flags.dryRun === true;
  if (!dryRun) requireRootUnlessDryRun("down");
  const previous = loadState();
  if (previous === null) {
    if (flags.json === true)
      printJson(output, {
        schemaVersion: SCHEMA_VERSION,
        command: "down",
        dryRun,
        changed: false,
        actions: [],
      });
    else if (flags.quiet !== true)
      output.out("mapectl down: nothing to remove (mapectl has not applied anything here).");
    return;
  }
  const host = await observeHost(runner);
  const actions = reconcileDown(previous, host);
  let boot: string | null = null;
  if (!dryRun) {
    await applyActions(runner, actions);
    clearState();
    boot = bootTableNote(forgetBootTable(previous));
  }
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: SCHEMA_VERSION,
      command: "down",
      dryRun,
      changed: !dryRun && actions.length > 0,
      actions: actions.map(actionJson),
    });
    return;
  }
  if (flags.quiet === true) return;
  output.out(
    [
      `mapectl down: ${previous.plan.tunnel.name} (${previous.plan.ipv4Address})`,
      describeActions(actions, dryRun),
      dryRun ? "dry run: nothing was changed." : "MAP-E is down; everything mapectl applied is removed.",
      ...(boot === null ? [] : [`${boot}.`]),
    ].join("\n"),
  );
}

export async function runStatus(
  flags: ApplyFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const report = await readStatus(runner);
  if (flags.json === true) {
    printJson(output, report);
    return;
  }
  const { plan, tunnel, ports } = report;
  if (!report.applied || plan === null || tunnel === null) {
    output.out("mapectl status: MAP-E is not applied on this host (run mapectl up).");
    return;
  }
  const rows: [string, string][] = [
    ["parameters", summary(plan)],
    [
      "tunnel",
      `${plan.tunnel.name} ${tunnel.exists ? (tunnel.up ? "up" : "DOWN") : "MISSING"}, ${plan.tunnel.local} → ${plan.tunnel.remote}, MTU ${plan.tunnel.mtu}`,
    ],
    [
      "counters",
      tunnel.txPackets === null
        ? "unknown"
        : `tx ${tunnel.txPackets} packets / ${tunnel.txBytes ?? 0} bytes, rx ${tunnel.rxPackets ?? 0} packets / ${tunnel.rxBytes ?? 0} bytes`,
    ],
    ["applied", report.appliedAt ?? "?"],
    [
      "live host",
      report.inSync ? "matches the plan" : `DIFFERS from the plan (${report.drift.length}): run mapectl up`,
    ],
  ];
  const lines = ["mapectl status", formatFields(rows)];
  for (const d of report.drift) lines.push(`    - needs: ${d}`);
  if (ports !== null) {
    const perProtocol = Object.entries(ports.perProtocol)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    lines.push(
      `  NAT ports in use: ${ports.total} of ${ports.portCount} (${perProtocol === "" ? "none" : perProtocol})`,
    );
    lines.push(`    per block: ${ports.perBlock.map((b) => `${b.first}:${b.used}`).join(" ")}`);
  } else {
    lines.push("  NAT ports in use: unknown (conntrack not installed or not root)");
  }
  if (report.events.length > 0) {
    lines.push("  recent events:");
    for (const e of report.events.slice(-5)) lines.push(`    ${e.at} ${e.level}: ${e.message}`);
  }
  output.out(lines.join("\n"));
}
