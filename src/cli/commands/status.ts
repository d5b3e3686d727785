import type { Command } from "commander";
import { JSON_HELP } from "../common-options.ts";
import type { ApplyFlags } from "../actions/action-report.ts";
import type { Output } from "../output.ts";

export function registerStatus(program: Command, output: Output): void {
  program
    .command("status")
    .summary("parameters, tunnel state and counters, NAT port usage, and whether the host still matches")
    .option("--json", JSON_HELP)
    .action(async (flags: ApplyFlags) => {
      const { runStatus } = await import("../actions/status.ts");
      await runStatus(flags, output);
    });
}
