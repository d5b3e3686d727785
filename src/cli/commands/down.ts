import type { Command } from "commander";
import { JSON_HELP } from "../common-options.ts";
import type { DownFlags } from "../actions/down.ts";
import type { Output } from "../output.ts";

export function registerDown(program: Command, output: Output): void {
  program
    .command("down")
    .summary("remove exactly what mapectl up applied")
    .option("--dry-run", "print what would be removed, change nothing")
    .option(
      "--force-owned",
      "when state.json is missing or damaged: remove only what is provably mapectl's (the nft table ip mapectl, routes with proto 77, the ip4ip6 tunnel named by --tunnel-name) and the damaged file; addresses stay",
    )
    .option("--tunnel-name <name>", "the tunnel --force-owned may delete (default mape)")
    .option("--json", JSON_HELP)
    .option("--quiet", "print nothing")
    .action(async (flags: DownFlags) => {
      const { runDown } = await import("../actions/down.ts");
      await runDown(flags, output);
    });
}
