import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { applyActions } from "../../host/apply.ts";
import { processRunner, type CommandRunner } from "../../host/command-runner.ts";
import { observeHost } from "../../host/observe.ts";
import { clearState, loadState } from "../../host/state-store.ts";
import { reconcileDown } from "../../plan/reconcile.ts";
import { printJson, type Output } from "../output.ts";
import { actionJson, describeActions, requireRootUnlessDryRun, type ApplyFlags } from "./action-report.ts";

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
  if (!dryRun) {
    await applyActions(runner, actions);
    clearState();
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
    ].join("\n"),
  );
}
