import { processRunner, type CommandRunner } from "../../host/command-runner.ts";
import { bootTableNote } from "../../host/boot-table.ts";
import { teardown } from "../../host/owned-cleanup.ts";
import { DEFAULT_SETTINGS } from "../../plan/settings.ts";
import { printJson, type Output } from "../output.ts";
import {
  actionJson,
  changeJson,
  describeActions,
  lockedUnlessDryRun,
  requireRootUnlessDryRun,
  type ApplyFlags,
} from "./action-report.ts";

export type DownFlags = ApplyFlags & { forceOwned?: boolean; tunnelName?: string };

export async function runDown(
  flags: DownFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const dryRun = flags.dryRun === true;
  if (!dryRun) requireRootUnlessDryRun("down");
  const options = {
    forceOwned: flags.forceOwned === true,
    tunnelName: flags.tunnelName ?? DEFAULT_SETTINGS.tunnelName,
    dryRun,
  };
  const down = () => teardown(runner, options);
  const { applied, method, actions, unrecorded, bootTable } = await lockedUnlessDryRun("down", dryRun, down);
  if (!dryRun && method === "ipip") {
    const { clearUpdateRecord } = await import("../../host/ipip-registration.ts");
    clearUpdateRecord();
  }
  if (flags.json === true) {
    printJson(output, {
      ...changeJson("down", dryRun, actions),
      method,
      actions: actions.map(actionJson),
      ...(unrecorded.length === 0 ? {} : { unrecorded: unrecorded.map(actionJson) }),
      ...(bootTable === undefined || bootTable === null ? {} : { bootTable }),
    });
    return;
  }
  if (flags.quiet === true) return;
  const boot = bootTableNote(bootTable ?? null);
  if (unrecorded.length > 0) {
    output.out(
      `mapectl down: no record of what mapectl applied, but this host has what is mapectl's:\n${describeActions(unrecorded, true)}\nrun mapectl down --force-owned to remove it.`,
    );
    return;
  }
  if (applied === null && !options.forceOwned) {
    output.out("mapectl down: nothing to remove (mapectl has not applied anything here).");
    return;
  }
  output.out(
    [
      `mapectl down: ${applied ?? "what is provably mapectl's (no usable state file)"}`,
      describeActions(actions, dryRun),
      dryRun
        ? "dry run: nothing was changed."
        : `${method === "ds-lite" ? "DS-Lite" : method === "ipip" ? "IPIP" : "MAP-E"} is down; everything mapectl applied is removed.`,
      ...(boot === null ? [] : [`${boot}.`]),
    ].join("\n"),
  );
}
