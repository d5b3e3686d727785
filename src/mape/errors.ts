/**
 * What kind of failure an error is, which decides the exit status (the CLI maps each category to
 * one documented number in one place). Every error mapectl reports on purpose carries one; anything
 * else is a bug and reported as an internal error.
 */
export type ErrorCategory =
  /** Bad command line: unknown option, malformed prefix, address or rule. */
  | "usage"
  /** A configuration or rules file is invalid. */
  | "config"
  /** No MAP-E parameters for this prefix: no rule matches, or the line is not MAP-E. */
  | "no-parameters"
  /** The host is not ready: not root, a tool or interface missing, no IPv6 prefix yet. */
  | "environment"
  /** A command on the host failed. */
  | "failure"
  /** A check (doctor) found a problem. */
  | "check-failed";

/**
 * The base of every error with a known meaning. It lives here, in the pure core every layer may
 * import, so that core, host, daemon and CLI all throw one kind of error and the CLI needs a single
 * `instanceof` to report any of them.
 */
export class MapectlError extends Error {
  readonly category: ErrorCategory;

  constructor(category: ErrorCategory, message: string) {
    super(message);
    this.name = "MapectlError";
    this.category = category;
  }
}

/** Every failure of the pure MAP-E code has a stable code; the code decides the category. */
export type MapeErrorCode =
  | "INVALID_ADDRESS"
  | "INVALID_PREFIX"
  | "INVALID_RULE"
  | "INVALID_RULE_TABLE"
  | "PREFIX_TOO_LONG"
  | "PREFIX_TOO_SHORT"
  | "NO_MATCHING_RULE"
  | "NOT_MAPE_LINE";

const MAPE_CATEGORY: Record<MapeErrorCode, ErrorCategory> = {
  INVALID_ADDRESS: "usage",
  INVALID_PREFIX: "usage",
  INVALID_RULE: "usage",
  PREFIX_TOO_LONG: "usage",
  PREFIX_TOO_SHORT: "usage",
  INVALID_RULE_TABLE: "config",
  NO_MATCHING_RULE: "no-parameters",
  NOT_MAPE_LINE: "no-parameters",
};

export class MapeError extends MapectlError {
  readonly code: MapeErrorCode;

  constructor(code: MapeErrorCode, message: string) {
    super(MAPE_CATEGORY[code], message);
    this.name = "MapeError";
    this.code = code;
  }
}

export function isMapeError(value: unknown): value is MapeError {
  return value instanceof MapeError;
}
