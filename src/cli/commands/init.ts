import type { Command } from "commander";
import type { Output } from "../output.ts";

export interface InitFlags {
  config?: string;
  force?: boolean;
  dryRun?: boolean;
}

export function registerInit(program: Command, output: Output): void {
  program
    .command("init")
    .summary("write a commented starter configuration from what this host looks like")
    .option("--config <file>", "where to write it (default /etc/mapectl/config.toml)")
    .option("--force", "overwrite an existing file")
    .option("--dry-run", "print the file instead of writing it")
    .action(async (flags: InitFlags) => {
      const { runInit } = await import("../actions/init.ts");
      await runInit(flags, output);
    });
}
