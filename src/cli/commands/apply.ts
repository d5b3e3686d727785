import { JSON_HELP } from "../common-options.ts";
import type { Command } from "commander";
import { addPlanOptions } from "../plan-options.ts";
import type { ApplyFlags } from "../apply-flow.ts";
import type { WatchFlags } from "../watch-flow.ts";
import type { Output } from "../output.ts";

export function registerApply(program: Command, output: Output): void {
  addPlanOptions(
    program
      .command("up")
      .summary("bring MAP-E up (or bring the host back in line with the plan)")
      .description(
        "Build the ip4ip6 tunnel, CE address, BR route, IPv4 address and default route, and the NAPT over\n" +
          "all port blocks (tcp, udp, icmp) from the prefix on the WAN. Idempotent: run again and it changes\n" +
          "only what differs; if any step fails, everything done so far is undone.",
      ),
  )
    .option("--dry-run", "print the commands and the nft script, change nothing")
    .option(
      "--nodad",
      "skip duplicate address detection for the CE address (faster, but no check for a second CE)",
    )
    .option("--json", JSON_HELP)
    .option("--quiet", "print nothing when there is nothing to do")
    .action(async (flags: ApplyFlags) => {
      const { runUp } = await import("../apply-flow.ts");
      await runUp(flags, output);
    });

  program
    .command("down")
    .summary("remove exactly what mapectl up applied")
    .option("--dry-run", "print what would be removed, change nothing")
    .option("--json", JSON_HELP)
    .option("--quiet", "print nothing")
    .action(async (flags: ApplyFlags) => {
      const { runDown } = await import("../apply-flow.ts");
      await runDown(flags, output);
    });

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
    .option("--periodic <seconds>", "re-check at least this often (default 60)")
    .action(async (flags: WatchFlags) => {
      const { runWatch } = await import("../watch-flow.ts");
      await runWatch(flags, output);
    });

  program
    .command("status")
    .summary("parameters, tunnel state and counters, NAT port usage, and whether the host still matches")
    .option("--json", JSON_HELP)
    .action(async (flags: ApplyFlags) => {
      const { runStatus } = await import("../apply-flow.ts");
      await runStatus(flags, output);
    });
}
