import { MapectlError } from "../mape/errors.ts";

/** Which kind of input a DecodeError is about, so a report can say "the DHCPv6 reply" or "the TXT record". */
export type DecodeInput = "dhcpv6" | "hb46pp-txt" | "hb46pp-reply";

/**
 * The only error the provisioning parsers throw. `field` names where in the input the problem is
 * (e.g. "OPTION_S46_CONT_MAPE.S46_RULE[0].prefix6-len" or "map_e.rules[3].ipv4"), so a user can
 * hand the one line to their ISP or to us without a packet capture.
 */
export class DecodeError extends MapectlError {
  readonly input: DecodeInput;
  readonly field: string;
  readonly reason: string;

  constructor(input: DecodeInput, field: string, reason: string) {
    // What the network sent cannot be used: as far as the user can tell, there are no parameters.
    super("no-parameters", `${field}: ${reason}`);
    this.name = "DecodeError";
    this.input = input;
    this.field = field;
    this.reason = reason;
  }
}

export function isDecodeError(value: unknown): value is DecodeError {
  return value instanceof DecodeError;
}
