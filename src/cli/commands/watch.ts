import type { Command } from "commander";
import { addPlanOptions } from "../plan-options.ts";
import type { WatchFlags } from "../actions/watch.ts";
import type { Output } from "../output.ts";

export function registerWatch(program: Command, output: Output): void {
  addPlanOptions(
    program
      .command("watch")
      .summary("keep MAP-E up: re-apply on prefix, address, route and link changes (run by the systemd unit)")
      .description(
        "Applies at start, then watches the WAN (ip monitor) and re-applies only the difference, atomically.\n" +
          "SIGHUP reloads the configuration; SIGTERM stops and leaves the path up (unless --down-on-exit).",
      ),
  )
    .option("--down-on-exit", "remove everything on SIGTERM instead of leaving the path up")
    .option("--nodad", "skip duplicate address detection for the CE address (no check for a second CE)")
    .option("--periodic <seconds>", "re-check at least this often (default 60)")
    .option("--trace", "log every command run, with its start and duration (debug priority)")
    .action(async (flags: WatchFlags) => {
      const { runWatch } = await import("../actions/watch.ts");
      await runWatch(flags, output);
    });
}
