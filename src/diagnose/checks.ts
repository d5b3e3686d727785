import { checkContext, findTunnel, type CheckContext } from "./context.ts";
import { sortFindings, type Finding } from "./findings.ts";
import {
  ceAddressDuplicate,
  ceAddressMismatch,
  ceAddressMissing,
  ipv4Address,
  prefixChanged,
} from "./checks/address.ts";
import { dsLiteCarrier, notMapeLine, tunnelMissing } from "./checks/line.ts";
import { bootTableStale } from "./checks/boot-table.ts";
import { conntrackOff } from "./checks/conntrack.ts";
import { firewallDrops } from "./checks/firewall.ts";
import { natChecks } from "./checks/nat.ts";
import { brRoute, ipv4DefaultRoute, ipv4Forwarding } from "./checks/route.ts";
import { brMismatch, encapLimit, mtuMss, tunnelDown } from "./checks/tunnel.ts";
import type { DoctorInput } from "./observation.ts";

export { findTunnel };
export type { BootTable, DoctorInput, Neighbour, OtherLine, RouteLookup } from "./observation.ts";

export interface DoctorResult {
  readonly tunnel: string | null;
  readonly findings: Finding[];
}

/**
 * The checks of a MAP-E tunnel: each gives at most one finding of its own id (the NAT checks share
 * one reading of the ruleset). sortFindings then puts failures first, in the order of CHECK_IDS.
 */
const TUNNEL_CHECKS: readonly ((ctx: CheckContext) => Finding | null | readonly (Finding | null)[])[] = [
  brMismatch,
  prefixChanged,
  ceAddressMismatch,
  ceAddressMissing,
  ceAddressDuplicate,
  brRoute,
  encapLimit,
  tunnelDown,
  mtuMss,
  ipv4Address,
  ipv4DefaultRoute,
  conntrackOff,
  firewallDrops,
  natChecks,
  ipv4Forwarding,
  bootTableStale,
];

const present = (list: readonly (Finding | null)[]): Finding[] => list.filter((f) => f !== null);

/** Runs every check and returns findings, most likely cause of a dead path first. */
export function runChecks(input: DoctorInput): DoctorResult {
  const carrier = dsLiteCarrier(input);
  const line = present([notMapeLine(input, carrier)]);
  if (carrier !== null) return { tunnel: carrier.name, findings: line };
  const ctx = checkContext(input);
  if (ctx === null)
    return { tunnel: null, findings: sortFindings([...line, ...present([tunnelMissing(input)])]) };
  const findings = TUNNEL_CHECKS.flatMap((check) => present([check(ctx)].flat()));
  return { tunnel: ctx.name, findings: sortFindings([...line, ...findings]) };
}
