import { processRunner } from "../host/command-runner.ts";
import { HostError } from "../host/errors.ts";
import { DEFAULT_WATCH, Watcher } from "../daemon/watch.ts";
import { runDown, type ApplyFlags } from "./apply-flow.ts";
import type { Output } from "./output.ts";
import { loadRuleTables } from "./rule-tables.ts";
import { settingsFrom } from "./settings.ts";

export interface WatchFlags extends ApplyFlags {
  downOnExit?: boolean;
  periodic?: string;
}

export async function runWatch(flags: WatchFlags, output: Output): Promise<void> {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new HostError("NOT_ROOT", "mapectl watch manages the network configuration and must run as root");
  }
  // Validate once up front so a broken configuration fails the start, not a later reload.
  const load = () => {
    const { settings } = settingsFrom(flags);
    return { settings, table: loadRuleTables(settings.rulesFiles) };
  };
  const periodicMs = flags.periodic === undefined ? DEFAULT_WATCH.periodicMs : Number(flags.periodic) * 1000;
  const watcher = new Watcher(load, processRunner, {
    ...DEFAULT_WATCH,
    periodicMs,
    nodad: flags.nodad !== false,
  });
  watcher.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      watcher.log("info", `${signal} received`);
      void watcher.stop().then(async () => {
        if (flags.downOnExit === true) await runDown({ quiet: true }, output);
        resolve();
      });
    };
    process.on("SIGTERM", () => {
      stop("SIGTERM");
    });
    process.on("SIGINT", () => {
      stop("SIGINT");
    });
    process.on("SIGHUP", () => {
      watcher.reload();
    });
  });
}
