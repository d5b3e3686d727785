import { logText } from "../text/log-line.ts";
import type { CommandRunner } from "./command-runner.ts";

/**
 * A runner that writes one debug line per command (`mapectl watch --trace`): when it started,
 * counted from the process's start, how long it took and how it ended. Where a slow converge
 * spends its time (a router under load, the lab under TCG) is then read off the journal.
 * Under systemd the line carries priority 7 (debug); argv may hold names from the configuration,
 * so it passes the log-line escaper like every other line.
 */
export function tracingRunner(
  inner: CommandRunner,
  write: (line: string) => void,
  underJournal: boolean,
): CommandRunner {
  return {
    async run(argv, options) {
      const started = performance.now();
      const describe = (end: string) => {
        const at = Math.round(started);
        const took = Math.round(performance.now() - started);
        const text = logText(`trace: +${at} ms ${argv.join(" ")}: ${took} ms, ${end}`);
        write(underJournal ? `<7>${text}\n` : `${text}\n`);
      };
      try {
        const result = await inner.run(argv, options);
        describe(`exit ${result.code}`);
        return result;
      } catch (err) {
        describe(`failed: ${(err as Error).message}`);
        throw err;
      }
    },
  };
}
