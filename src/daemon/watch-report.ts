// What the daemon says after a converge that worked: the lines are read in the journal, so a
// round that changed nothing and asked nobody says nothing.
import { isDsLitePlan, isIpipPlan, planMethod, type Plan } from "../plan/method.ts";
import { planParts } from "../plan/plan-parts.ts";
import { flushedNote, type ConvergeResult } from "./converge.ts";

export interface RoundFacts {
  /** The plan before this round, null at start or after a withdrawal. */
  readonly before: Plan | null;
  readonly tookMs: number;
  /** The network was asked in this round (not the shipped tables or manual rules). */
  readonly asked: boolean;
  /** A standing verdict (waiting, stale) has just ended. */
  readonly recovered: boolean;
  readonly next: { readonly at: number } | null;
}

/** The path a plan makes, long (after a change) or short (when nothing changed). */
function pathOf(plan: Plan, long: boolean): string {
  if (isDsLitePlan(plan)) {
    const aftr = plan.aftr.name === null ? plan.tunnel.remote : `${plan.aftr.name} ${plan.tunnel.remote}`;
    return `B4 ${plan.b4Address} via AFTR ${aftr}`;
  }
  if (isIpipPlan(plan))
    return long ? `fixed IPv4 ${plan.ipv4Address} via BR ${plan.br}` : `fixed IPv4 ${plan.ipv4Address}`;
  const psid = `PSID ${String(plan.parameters.psid)}`;
  return long ? `IPv4 ${plan.ipv4Address} ${psid} via BR ${plan.br}` : `IPv4 ${plan.ipv4Address} ${psid}`;
}

/**
 * What moved since the last round: the method, or the prefix (the tunnel's source) and the AFTR
 * (its end: the AFTR's name now resolves to another address, as when a VNE renumbers it).
 */
function movedNote(before: Plan | null, result: ConvergeResult): string {
  const { plan } = result;
  if (before === null) return "";
  if (planMethod(before) !== planMethod(plan))
    return ` (method changed: ${planParts(before).label} → ${planParts(plan).label}, ${result.prefixFrom})`;
  const moved: string[] = [];
  if (before.tunnel.local !== plan.tunnel.local) moved.push(`prefix changed: now ${result.prefixFrom}`);
  if (isDsLitePlan(before) && before.tunnel.remote !== plan.tunnel.remote)
    moved.push(`AFTR moved: ${before.tunnel.remote} → ${plan.tunnel.remote}`);
  return moved.length === 0 ? "" : ` (${moved.join("; ")})`;
}

/** The info line for a round that converged, or null when it is no news. */
export function convergedLine(reason: string, result: ConvergeResult, facts: RoundFacts): string | null {
  const { plan, source } = result;
  const nextIn =
    facts.next === null
      ? ""
      : `; next query in ${Math.max(0, Math.round((facts.next.at - Date.now()) / 1000))} s`;
  if (result.changed) {
    const what = result.actions.map((a) => a.id).join(", ");
    const note = flushedNote(result);
    const flushed = note === null ? "" : `; ${note}`;
    const took = (facts.tookMs / 1000).toFixed(1);
    return `${reason}: applied ${what} in ${took} s${movedNote(facts.before, result)}; parameters from ${source}; ${pathOf(plan, true)}${flushed}${facts.asked ? nextIn : ""}`;
  }
  if (reason === "start" || reason === "configuration reloaded" || facts.recovered) {
    const short = isDsLitePlan(plan) || isIpipPlan(plan) ? pathOf(plan, false) : `IPv4 ${plan.ipv4Address}`;
    return `${reason}: ${planParts(plan).label} up as planned (${short}, parameters from ${source}${facts.asked ? nextIn : ""})`;
  }
  if (facts.asked && result.stale === null) {
    return `${reason}: asked ${source} again: parameters unchanged (${pathOf(plan, false)})${nextIn}`;
  }
  return null;
}
