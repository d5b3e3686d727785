import { MapectlError, type ErrorCategory } from "../mape/errors.ts";

/**
 * Documented exit statuses (README "Exit status", and `mapectl --help`). Scripts rely on them:
 * keep the numbers stable.
 */
export const ExitCode = {
  ok: 0,
  /** A command on the host failed, or an internal error. */
  failure: 1,
  /** Bad command line: unknown option, malformed prefix, address or rule. */
  usage: 2,
  /** No MAP-E parameters for this prefix: no rule matches, or the line is not MAP-E. */
  noParameters: 3,
  /** A configuration or rules file is invalid. */
  config: 4,
  /** The host is not ready: not root, a tool or interface missing, no IPv6 prefix yet. */
  environment: 5,
  /** doctor found at least one failing check. */
  problemsFound: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The one mapping from what went wrong to the exit status. */
export const EXIT_CODE_OF: Record<ErrorCategory, ExitCodeValue> = {
  usage: ExitCode.usage,
  config: ExitCode.config,
  "no-parameters": ExitCode.noParameters,
  environment: ExitCode.environment,
  failure: ExitCode.failure,
  "check-failed": ExitCode.problemsFound,
};

/** An error of the command line itself, reported as one line. */
export class CliError extends MapectlError {
  constructor(category: ErrorCategory, message: string) {
    super(category, message);
    this.name = "CliError";
  }
}

let requested: ExitCodeValue = ExitCode.ok;

/** For commands whose result is a status rather than an error (doctor: checks failed). */
export function requestExit(code: ExitCodeValue): void {
  requested = code;
}

export function requestedExit(): ExitCodeValue {
  return requested;
}
