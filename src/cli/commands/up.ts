import type { Command } from "commander";
import { addPlanOptions } from "../plan-options.ts";
import { JSON_HELP } from "../common-options.ts";
import type { ApplyFlags } from "../actions/action-report.ts";
import type { Output } from "../output.ts";

export function registerUp(program: Command, output: Output): void {
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
      const { runUp } = await import("../actions/up.ts");
      await runUp(flags, output);
    });
}
