import { JSON_HELP } from "../common-options.ts";
import type { Command } from "commander";
import type { PortsFlags } from "../ports-flow.ts";
import type { Output } from "../output.ts";

export function registerPorts(program: Command, output: Output): void {
  program
    .command("ports")
    .summary(
      "NAT port usage: flows per port block and protocol, the busiest hosts and destinations, headroom",
    )
    .description(
      "Count the NATed flows in conntrack against this line's port set (often only 240 ports): flows per\n" +
        "block and per protocol, the inside hosts and destinations with the most flows, and how many ports\n" +
        "no flow uses. Needs root and MAP-E applied by mapectl up.",
    )
    .option("--watch", "refresh every 2 s until Ctrl-C")
    .option("--count <n>", "with --watch: stop after n refreshes")
    .option("--json", `${JSON_HELP}; with --watch one object per line`)
    .action(async (flags: PortsFlags) => {
      const { runPorts } = await import("../ports-flow.ts");
      await runPorts(flags, output, { tty: process.stdout.isTTY });
    });
}
