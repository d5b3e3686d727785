import { MapectlError, type ErrorCategory } from "../mape/errors.ts";

/** Failures of the host layer; the code decides the exit category. */
export type HostErrorCode =
  "FILE_UNREADABLE" | "NOT_ROOT" | "TOOL_MISSING" | "COMMAND_FAILED" | "INTERFACE_MISSING" | "NO_IPV6_PREFIX";

const HOST_CATEGORY: Record<HostErrorCode, ErrorCategory> = {
  FILE_UNREADABLE: "config",
  NOT_ROOT: "environment",
  TOOL_MISSING: "environment",
  INTERFACE_MISSING: "environment",
  NO_IPV6_PREFIX: "environment",
  COMMAND_FAILED: "failure",
};

export class HostError extends MapectlError {
  readonly code: HostErrorCode;

  constructor(code: HostErrorCode, message: string) {
    super(HOST_CATEGORY[code], message);
    this.name = "HostError";
    this.code = code;
  }
}

export function isHostError(value: unknown): value is HostError {
  return value instanceof HostError;
}
