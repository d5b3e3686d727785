import { oneLine } from "../text/one-line.ts";

import { MapectlError, type ErrorCategory } from "../base/mapectl-error.ts";

export { MapectlError, type ErrorCategory };

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
    // Messages quote what was refused, which may come from a file or the network: kept on one line.
    super(MAPE_CATEGORY[code], oneLine(message));
    this.name = "MapeError";
    this.code = code;
  }
}

export function isMapeError(value: unknown): value is MapeError {
  return value instanceof MapeError;
}
