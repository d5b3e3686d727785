import type { CommandRunner } from "../host/command-runner.ts";
import { deleteNatFlows, readNatFlows } from "../host/conntrack.ts";
import type { PortRange } from "../mape/port-set.ts";
import { isMapePlan, type Plan } from "../plan/method.ts";
import type { AppliedState } from "../plan/reconcile.ts";

// After a change of MAP-E's address or port set: the NAT entries that no longer fit, removed.

/** NAT entries of the previous address (or ports) removed from conntrack; null when not tried. */
export type Flushed = { readonly address: string; readonly flows: number | null } | null;

/**
 * Conntrack entries NATed to an address the host no longer has would carry on translating an old
 * flow's packets to it, which the BR drops: removing them makes those connections fail at once
 * (the next packet is NATed anew and the far end resets it), as masquerade does on an address change.
 */
async function flushOldFlows(runner: CommandRunner, oldAddress: string): Promise<number | null> {
  // null: conntrack not installed, nothing to flush with, and nothing else depends on it
  return deleteNatFlows(runner, oldAddress);
}

/**
 * The same IPv4 address with another PSID (a new prefix that differs only in its PSID bits, as
 * OCN's 6-bit PSIDs allow): the old NAT entries keep their ports, all outside the new set (the sets
 * of two PSIDs are disjoint), and the BR drops every packet of them. Deletes the tcp and udp ones
 * by their NATed port, found in the listing, one conntrack call per port in use; ICMP entries are
 * left to their 30 s timeout (conntrack can filter an echo only by its inside id).
 */
async function flushOutsidePorts(
  runner: CommandRunner,
  address: string,
  sets: readonly PortRange[],
): Promise<number | null> {
  const flows = await readNatFlows(runner, address, { onlyReplyTo: true });
  if (flows === null) return null;
  const stale = new Map<string, { protocol: "tcp" | "udp"; port: number }>();
  for (const flow of flows) {
    if (flow.protocol !== "tcp" && flow.protocol !== "udp") continue;
    if (sets.some(([lo, hi]) => flow.outsidePort >= lo && flow.outsidePort <= hi)) continue;
    stale.set(`${flow.protocol}/${flow.outsidePort}`, { protocol: flow.protocol, port: flow.outsidePort });
  }
  let deleted = 0;
  for (const only of stale.values()) {
    const count = await deleteNatFlows(runner, address, only);
    if (count === null) return null;
    deleted += count;
  }
  return deleted;
}

/** After a change: the flows still on the old address, or on ports no longer ours, are flushed. */
export async function flushStaleFlows(
  runner: CommandRunner,
  previous: AppliedState | null,
  plan: Plan,
): Promise<Flushed> {
  // only MAP-E NATs on the router: DS-Lite's flows are translated by the AFTR
  const before = previous?.plan;
  if (before === undefined || !isMapePlan(before) || !isMapePlan(plan)) return null;
  const oldAddress = before.ipv4Address;
  if (oldAddress !== plan.ipv4Address) {
    return { address: oldAddress, flows: await flushOldFlows(runner, oldAddress) };
  }
  if (JSON.stringify(before.portSets) !== JSON.stringify(plan.portSets)) {
    return { address: oldAddress, flows: await flushOutsidePorts(runner, oldAddress, plan.portSets) };
  }
  return null;
}
