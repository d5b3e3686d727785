import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import type { CommandRunner } from "../host/command-runner.ts";
import { readNatFlows } from "../host/conntrack.ts";
import { observeHost } from "../host/observe.ts";
import { loadState } from "../host/state-store.ts";
import { readEvents, type DaemonEvent } from "../host/event-log.ts";
import { isMapePlan, planMethod, type Method, type Plan } from "../plan/method.ts";
import { planParts } from "../plan/plan-parts.ts";
import type { ParametersJson } from "../provision/parameters.ts";
import { portUsage, type PortUsage } from "../plan/port-usage.ts";
import { reconcileUp, vyosDrift } from "../plan/reconcile.ts";

export interface TunnelStatus {
  readonly name: string;
  readonly exists: boolean;
  readonly up: boolean;
  readonly rxPackets: number | null;
  readonly txPackets: number | null;
  readonly rxBytes: number | null;
  readonly txBytes: number | null;
}

/** `status --json` (schemaVersion 1); also what the web page and the daemon read. */
export interface StatusReport {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  /** The applied plan's IPv4 method; null when nothing is applied. */
  readonly method: Method | null;
  readonly applied: boolean;
  readonly appliedAt: string | null;
  readonly inSync: boolean;
  readonly drift: readonly string[];
  /** MAP-E's parameters (the calc object); null when nothing is applied or the method has none. */
  readonly parameters: ParametersJson | null;
  readonly tunnel: TunnelStatus | null;
  /** MAP-E's NAT port usage; null for a method whose NAT is elsewhere (DS-Lite's AFTR). */
  readonly ports: PortUsage | null;
  readonly plan: Plan | null;
  readonly events: readonly DaemonEvent[];
}

export async function readStatus(runner: CommandRunner): Promise<StatusReport> {
  const state = loadState();
  const events = readEvents();
  if (state === null) {
    return {
      schemaVersion: SCHEMA_VERSION,
      method: null,
      applied: false,
      appliedAt: null,
      inSync: false,
      drift: [],
      parameters: null,
      tunnel: null,
      ports: null,
      plan: null,
      events,
    };
  }
  const host = await observeHost(runner);
  const plan = state.plan;
  let drift: string[];
  try {
    drift = reconcileUp(plan, state.nftScript, state, host, {
      replaceDefault: true,
      nodad: true,
    }).actions.map((a) => a.summary);
    // VyOS's part is VyOS's to change, but a status that hides it lagging is no status
    if (plan.tunnelOwner === "vyos") drift.push(...vyosDrift(plan, host).map((d) => `VyOS: ${d}`));
  } catch (err) {
    // e.g. another interface now has the tunnel's name: that is drift too, not a crash
    drift = [(err as Error).message];
  }
  const link = host.links.find((l) => l.name === plan.tunnel.name);
  // the router's own NAT: only MAP-E's (DS-Lite's is the AFTR's)
  const flows = isMapePlan(plan) ? await readNatFlows(runner, planParts(plan).tunnelIpv4.address) : null;
  return {
    schemaVersion: SCHEMA_VERSION,
    method: planMethod(plan),
    applied: true,
    appliedAt: state.appliedAt,
    inSync: drift.length === 0,
    drift,
    parameters: isMapePlan(plan) ? plan.parameters : null,
    tunnel: {
      name: plan.tunnel.name,
      exists: link !== undefined,
      up: link?.up ?? false,
      rxPackets: link?.stats?.rxPackets ?? null,
      txPackets: link?.stats?.txPackets ?? null,
      rxBytes: link?.stats?.rxBytes ?? null,
      txBytes: link?.stats?.txBytes ?? null,
    },
    ports: flows === null || !isMapePlan(plan) ? null : portUsage(flows, plan.portSets, plan.portCount),
    plan,
    events,
  };
}
