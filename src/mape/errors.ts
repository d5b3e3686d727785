import { oneLine } from "../text/one-line.ts";

/**
 * Every failure of the pure core is a MapeError with a stable code, so the CLI can map it to an
 * exit status and a one-line message without ever printing a stack trace.
 */
export type MapeErrorCode =
  | "INVALID_ADDRESS"
  | "INVALID_PREFIX"
  | "INVALID_RULE"
  | "INVALID_RULE_TABLE"
  | "PREFIX_TOO_LONG"
  | "PREFIX_TOO_SHORT"
  | "NO_MATCHING_RULE"
  | "NOT_MAPE_LINE";

export class MapeError extends Error {
  readonly code: MapeErrorCode;

  constructor(code: MapeErrorCode, message: string) {
    // Messages quote what was refused, which may come from a file or the network: kept on one line.
    super(oneLine(message));
    this.name = "MapeError";
    this.code = code;
  }
}

/**
 * By name, not instanceof: the CLI is split into lazily loaded bundles, each with its own copy of
 * this class, and an error may cross from one to another.
 */
export function isMapeError(value: unknown): value is MapeError {
  return (
    value instanceof Error &&
    value.name === "MapeError" &&
    typeof (value as { code?: unknown }).code === "string"
  );
}
