import { Command, CommanderError } from "commander";
import { MapectlError } from "../mape/errors.ts";
import { logText } from "../text/log-line.ts";
import { registerDown } from "./commands/down.ts";
import { registerStatus } from "./commands/status.ts";
import { registerUp } from "./commands/up.ts";
import { registerWatch } from "./commands/watch.ts";
import { registerCalc } from "./commands/calc.ts";
import { registerLab } from "./commands/lab.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerInit } from "./commands/init.ts";
import { registerProvision } from "./commands/provision.ts";
import { registerRender } from "./commands/render.ts";
import { registerPorts } from "./commands/ports.ts";
import { registerServe } from "./commands/serve.ts";
import { registerInstall } from "./commands/install.ts";
import { registerDocs } from "./docs/commands.ts";
import { EXIT_CODE_OF, ExitCode, requestedExit, type ExitCodeValue } from "./exit-codes.ts";
import { processOutput, type Output } from "./output.ts";

declare const MAPECTL_VERSION: string | undefined;
const VERSION = typeof MAPECTL_VERSION === "string" ? MAPECTL_VERSION : "0.0.0-dev";

const EXIT_HELP = `
Exit status:
  0  success
  1  a command on the host failed, or an internal error
  2  bad command line: unknown option, malformed prefix, address or rule
  3  no MAP-E parameters for this prefix (no rule matches, or the line is not MAP-E)
  4  a configuration or rules file is invalid
  5  the host is not ready (not root, a tool or interface missing, no IPv6 prefix yet),
     or refuses (another mapectl holds the lock, state.json damaged, an unsafe path)
  6  doctor found a failing check`;

export function buildProgram(output: Output): Command {
  const program = new Command("mapectl")
    .description("MAP-E (RFC 7597) IPv4 on your own Linux or VyOS router")
    .version(VERSION, "-V, --version")
    .addHelpText("after", EXIT_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        output.out(text);
      },
      writeErr: (text) => {
        output.err(text);
      },
      // commander's usage errors become one line in the same form as every other error
      outputError: (text, write) => {
        write(`mapectl: ${text.replace(/^error: /, "").trim()} (see mapectl --help)\n`);
      },
    });
  registerCalc(program, output);
  registerLab(program, output);
  registerProvision(program, output);
  registerUp(program, output);
  registerDown(program, output);
  registerWatch(program, output);
  registerStatus(program, output);
  registerRender(program, output);
  registerInstall(program, output);
  registerDocs(program, output);
  registerDoctor(program, output);
  registerInit(program, output);
  registerPorts(program, output);
  registerServe(program, output);
  return program;
}

/** Turns any error into one line on stderr and an exit status; a stack only with MAPECTL_DEBUG=1. */
export function reportError(error: unknown, output: Output): ExitCodeValue {
  if (error instanceof CommanderError) {
    // commander already printed its message; help and --version end here too
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (error instanceof MapectlError) {
    // A message may quote a network answer (a service name, a server's error): one line, always.
    output.err(`mapectl: ${logText(error.message)}`);
    return EXIT_CODE_OF[error.category];
  }
  const message = error instanceof Error ? error.message : String(error);
  output.err(
    `mapectl: internal error: ${logText(message)} (please report this; MAPECTL_DEBUG=1 shows the stack)`,
  );
  if (process.env.MAPECTL_DEBUG === "1" && error instanceof Error) output.err(error.stack ?? "");
  return ExitCode.failure;
}

export async function run(argv: readonly string[], output: Output = processOutput): Promise<ExitCodeValue> {
  try {
    await buildProgram(output).parseAsync(argv, { from: "user" });
    return requestedExit();
  } catch (error) {
    return reportError(error, output);
  }
}
