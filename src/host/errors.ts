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
