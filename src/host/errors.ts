/** Failures of the host layer, each with a code the CLI maps to an exit status. */
export type HostErrorCode =
  "FILE_UNREADABLE" | "NOT_ROOT" | "TOOL_MISSING" | "COMMAND_FAILED" | "INTERFACE_MISSING" | "NO_IPV6_PREFIX";

export class HostError extends Error {
  readonly code: HostErrorCode;

  constructor(code: HostErrorCode, message: string) {
    super(message);
    this.name = "HostError";
    this.code = code;
  }
}

/** By name, not instanceof (see isMapeError): errors cross between the CLI's lazily loaded bundles. */
export function isHostError(value: unknown): value is HostError {
  return (
    value instanceof Error &&
    value.name === "HostError" &&
    typeof (value as { code?: unknown }).code === "string"
  );
}
