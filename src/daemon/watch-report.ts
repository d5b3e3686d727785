// What the daemon says after a converge that worked: the lines are read in the journal, so a
// round that changed nothing and asked nobody says nothing.
import type { MapePlan } from "../plan/plan.ts";
import { flushedNote, type ConvergeResult } from "./converge.ts";

export interface RoundFacts {
  /** The plan before this round, null at start or after a withdrawal. */
  readonly before: MapePlan | null;
  readonly tookMs: number;
  /** The network was asked in this round (not the shipped tables or manual rules). */
  readonly asked: boolean;
  /** A standing verdict (waiting, stale) has just ended. */
  readonly recovered: boolean;
  readonly next: { readonly at: number } | null;
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
    const moved =
      facts.before !== null && facts.before.ceAddress !== plan.ceAddress
        ? ` (prefix changed: now ${result.prefixFrom})`
        : "";
    const note = flushedNote(result);
    const flushed = note === null ? "" : `; ${note}`;
    const took = (facts.tookMs / 1000).toFixed(1);
    return `${reason}: applied ${what} in ${took} s${moved}; parameters from ${source}; IPv4 ${plan.ipv4Address} PSID ${String(plan.parameters.psid)} via BR ${plan.br}${flushed}${facts.asked ? nextIn : ""}`;
  }
  if (reason === "start" || reason === "configuration reloaded" || facts.recovered) {
    return `${reason}: MAP-E up as planned (IPv4 ${plan.ipv4Address}, parameters from ${source}${facts.asked ? nextIn : ""})`;
  }
  if (facts.asked && result.stale === null) {
    return `${reason}: asked ${source} again: parameters unchanged (IPv4 ${plan.ipv4Address} PSID ${String(plan.parameters.psid)})${nextIn}`;
  }
  return null;
}
