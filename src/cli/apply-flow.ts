import { HostError } from "../host/errors.ts";
import { applyActions } from "../host/apply.ts";
import { processRunner, runChecked, type CommandRunner } from "../host/command-runner.ts";
import { observeHost } from "../host/observe.ts";
import { clearState, loadState, saveState } from "../host/state-store.ts";
import { desiredPlan, HostNotReady } from "../plan/desired.ts";
import type { HostState } from "../plan/observed.ts";
import { PlanError, type MapePlan } from "../plan/plan.ts";
import { parseConntrack, portUsage, type PortUsage } from "../plan/port-usage.ts";
import { reconcileDown, reconcileUp, type Action, type AppliedState } from "../plan/reconcile.ts";
import { renderNftables } from "../render/nftables.ts";
import { shippedNotMape } from "../rules/shipped.ts";
import { CliError, ExitCode } from "./exit-codes.ts";
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

function requireRoot(command: string): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new HostError(
      "NOT_ROOT",
      `mapectl ${command} changes the network configuration and must run as root (sudo mapectl ${command} …), or add --dry-run`,
    );
  }
}

/** Maps the plan layer's errors to the CLI's exit statuses. */
function planStep<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof HostNotReady)
      throw new HostError(err.what === "interface" ? "INTERFACE_MISSING" : "NO_IPV6_PREFIX", err.message);
    if (err instanceof PlanError) throw new CliError(ExitCode.config, err.message);
    throw err;
  }
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
  if (!dryRun) requireRoot("up");
  const { settings } = settingsFrom(flags);
  const host = await observeHost(runner);
  const table = loadRuleTables(settings.rulesFiles);
  const { plan, prefixFrom } = planStep(() => desiredPlan(settings, host, table, shippedNotMape()));
  const nftScript = renderNftables(plan);
  const previous = loadState();
  const { actions, replacedDefaults, enabledForwarding } = planStep(() =>
    reconcileUp(plan, nftScript, previous, host, {
      replaceDefault: settings.replaceDefault,
      nodad: flags.nodad === true,
    }),
  );
  // generate → check → apply: nft validates the ruleset before anything changes.
  if (actions.some((a) => a.id === "nat")) {
    const check = await runner.run(["nft", "-c", "-f", "-"], { input: nftScript });
    if (check.code !== 0) {
      throw new HostError(
        "COMMAND_FAILED",
        `nft refused the generated ruleset (nothing was changed): ${check.stderr.trim().split("\n")[0] ?? ""}`,
      );
    }
  }
  if (!dryRun && actions.length > 0) {
    await applyActions(runner, actions);
  }
  if (!dryRun && (actions.length > 0 || previous === null)) {
    const state: AppliedState = {
      schemaVersion: 1,
      appliedAt: new Date().toISOString(),
      plan,
      nftScript,
      replacedDefaults,
      enabledForwarding,
    };
    saveState(state);
  }
  const durationMs = Date.now() - started;
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: 1,
      command: "up",
      dryRun,
      changed: !dryRun && actions.length > 0,
      prefixFrom,
      actions: actions.map(actionJson),
      plan,
      durationMs,
    });
    return;
  }
  if (flags.quiet === true && actions.length === 0) return;
  const head = [`mapectl up: ${prefixFrom}`, `  ${summary(plan)}`];
  if (actions.length === 0) {
    output.out([...head, `MAP-E is already up as planned on ${plan.tunnel.name}: nothing to do.`].join("\n"));
    return;
  }
  output.out(
    [
      ...head,
      describeActions(actions, dryRun),
      dryRun
        ? `dry run: ${actions.length} change${actions.length === 1 ? "" : "s"} would be made; nothing was changed.`
        : `MAP-E is up: IPv4 ${plan.ipv4Address} through ${plan.tunnel.name} (${actions.length} change${actions.length === 1 ? "" : "s"} in ${(durationMs / 1000).toFixed(1)} s).`,
    ].join("\n"),
  );
}

export async function runDown(
  flags: ApplyFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const dryRun = flags.dryRun === true;
  if (!dryRun) requireRoot("down");
  const previous = loadState();
  if (previous === null) {
    if (flags.json === true)
      printJson(output, { schemaVersion: 1, command: "down", dryRun, changed: false, actions: [] });
    else if (flags.quiet !== true)
      output.out("mapectl down: nothing to remove (mapectl has not applied anything here).");
    return;
  }
  const host = await observeHost(runner);
  const actions = reconcileDown(previous, host);
  if (!dryRun) {
    await applyActions(runner, actions);
    clearState();
  }
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: 1,
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
    ].join("\n"),
  );
}

async function readPortUsage(runner: CommandRunner, plan: MapePlan): Promise<PortUsage | null> {
  try {
    const text = await runChecked(runner, ["conntrack", "-L", "-n"], { timeoutMs: 10_000 });
    return portUsage(parseConntrack(text, plan.ipv4Address), plan.portSets, plan.portCount);
  } catch {
    return null;
  }
}

export async function runStatus(
  flags: ApplyFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<boolean> {
  const state = loadState();
  const host: HostState = await observeHost(runner);
  if (state === null) {
    if (flags.json === true) printJson(output, { schemaVersion: 1, applied: false, inSync: false });
    else output.out("mapectl status: MAP-E is not applied on this host (run mapectl up).");
    return false;
  }
  const plan = state.plan;
  const drift = reconcileUp(plan, state.nftScript, state, host, {
    replaceDefault: true,
    nodad: true,
  }).actions.map((a) => a.summary);
  const link = host.links.find((l) => l.name === plan.tunnel.name);
  const ports = await readPortUsage(runner, plan);
  const tunnel = {
    name: plan.tunnel.name,
    exists: link !== undefined,
    up: link?.up ?? false,
    rxPackets: link?.stats?.rxPackets ?? null,
    txPackets: link?.stats?.txPackets ?? null,
    rxBytes: link?.stats?.rxBytes ?? null,
    txBytes: link?.stats?.txBytes ?? null,
  };
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: 1,
      applied: true,
      appliedAt: state.appliedAt,
      inSync: drift.length === 0,
      drift,
      parameters: plan.parameters,
      tunnel,
      ports,
      plan,
    });
    return drift.length === 0;
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
    ["applied", state.appliedAt],
    [
      "live host",
      drift.length === 0 ? "matches the plan" : `DIFFERS from the plan (${drift.length}): run mapectl up`,
    ],
  ];
  const lines = ["mapectl status", formatFields(rows)];
  for (const d of drift) lines.push(`    - needs: ${d}`);
  if (ports !== null) {
    lines.push(
      `  NAT ports in use: ${ports.total} of ${ports.portCount} (${
        Object.entries(ports.perProtocol)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "none"
      })`,
    );
    lines.push(`    per block: ${ports.perBlock.map((b) => `${b.first}:${b.used}`).join(" ")}`);
  } else {
    lines.push("  NAT ports in use: unknown (conntrack not installed or not root)");
  }
  output.out(lines.join("\n"));
  return drift.length === 0;
}
