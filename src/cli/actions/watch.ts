import { processRunner } from "../../host/command-runner.ts";
import { tracingRunner } from "../../host/command-trace.ts";
import { requireRoot } from "../../host/privilege.ts";
import { DEFAULT_WATCH, Watcher } from "../../daemon/watch.ts";
import type { ApplyFlags } from "./action-report.ts";
import { runDown } from "./down.ts";
import { CliError } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { loadRuleTables } from "../rule-tables.ts";
import { settingsFrom } from "../settings.ts";

export interface WatchFlags extends ApplyFlags {
  downOnExit?: boolean;
  periodic?: string;
  trace?: boolean;
}

/**
 * --periodic in seconds: a whole number from 1. Anything else would reach setInterval as NaN or 0,
 * which Node turns into a re-check every millisecond.
 */
export function periodicFrom(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WATCH.periodicMs;
  if (!/^[1-9][0-9]{0,6}$/.test(text)) {
    throw new CliError("usage", `--periodic must be a whole number of seconds from 1, not "${text}"`);
  }
  return Number(text) * 1000;
}

export async function runWatch(flags: WatchFlags, output: Output): Promise<void> {
  const periodicMs = periodicFrom(flags.periodic);
  requireRoot("mapectl watch manages the network configuration and must run as root");
  // Validate once up front so a broken configuration fails the start, not a later reload.
  const load = () => {
    const { settings } = settingsFrom(flags);
    return { settings, table: loadRuleTables(settings.rulesFiles) };
  };
  const runner =
    flags.trace === true
      ? tracingRunner(
          processRunner,
          (line) => process.stderr.write(line),
          process.env.JOURNAL_STREAM !== undefined,
        )
      : processRunner;
  const watcher = new Watcher(load, runner, {
    ...DEFAULT_WATCH,
    periodicMs,
    nodad: flags.nodad === true,
  });
  watcher.start();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      watcher.log("info", `${signal} received${stopping ? " again; already stopping" : ""}`);
      if (stopping) return;
      stopping = true;
      void watcher.stop(flags.downOnExit !== true).then(async () => {
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
