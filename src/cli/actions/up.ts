import { processRunner, type CommandRunner } from "../../host/command-runner.ts";
import { bootTableNote } from "../../host/boot-table.ts";
import { converge, flushedNote, vyosDriftNote } from "../../daemon/converge.ts";
import { printJson, type Output } from "../output.ts";
import { loadRuleTables } from "../rule-tables.ts";
import { settingsFrom } from "../settings.ts";
import { planMethod } from "../../plan/method.ts";
import { planParts } from "../../plan/plan-parts.ts";

import {
  actionJson,
  changeJson,
  describeActions,
  lockedUnlessDryRun,
  planSummary,
  requireRootUnlessDryRun,
  type ApplyFlags,
} from "./action-report.ts";

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
  const apply = () => converge(settings, table, runner, { nodad: flags.nodad === true, dryRun });
  const result = await lockedUnlessDryRun("up", dryRun, apply);
  const { plan, prefixFrom, actions, source, flushed, vyosDrift } = result;
  const durationMs = Date.now() - started;
  if (flags.json === true) {
    printJson(output, {
      ...changeJson("up", dryRun, actions),
      method: planMethod(plan),
      prefixFrom,
      source,
      actions: actions.map(actionJson),
      // NAT entries whose translation no longer fits (old address, or old PSID's ports), removed
      flushed,
      vyosDrift,
      ...(result.bootTable === undefined ? {} : { bootTable: result.bootTable }),
      // IPIP: the provider's update URL's last verdict (never the account)
      ...(result.update === undefined ? {} : { update: result.update }),
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
  const label = planParts(plan).label;
  const head = [`mapectl up: ${prefixFrom}`, `  ${planSummary(plan)} (parameters from ${source})`];
  if (actions.length === 0) {
    output.out(
      [
        ...head,
        ...(drift.length === 0
          ? [`${label} is already up as planned on ${plan.tunnel.name}: nothing to do.`]
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
        : `${label} is up: IPv4 ${planParts(plan).tunnelIpv4.address} through ${plan.tunnel.name} (${actions.length} change${actions.length === 1 ? "" : "s"} in ${(durationMs / 1000).toFixed(1)} s).`,
      ...(flushedLine === null ? [] : [`${flushedLine.charAt(0).toUpperCase()}${flushedLine.slice(1)}.`]),
      ...drift,
    ].join("\n"),
  );
}
