import type { Command } from "commander";
import { JSON_HELP } from "../common-options.ts";
import type { ApplyFlags } from "../actions/action-report.ts";
import type { Output } from "../output.ts";

export function registerDown(program: Command, output: Output): void {
  program
    .command("down")
    .summary("remove exactly what mapectl up applied")
    .option("--dry-run", "print what would be removed, change nothing")
    .option("--json", JSON_HELP)
    .option("--quiet", "print nothing")
    .action(async (flags: ApplyFlags) => {
      const { runDown } = await import("../actions/down.ts");
      await runDown(flags, output);
    });
}
