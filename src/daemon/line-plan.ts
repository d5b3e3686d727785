import { resolveAftr, type ResolvedAftr } from "../host/aftr-resolve.ts";
import { formatIpv6Prefix } from "../mape/ipv6.ts";
import { planFromResolved, type PlanContext } from "../plan/desired.ts";
import { dsLitePlanOnHost } from "../plan/desired-dslite.ts";
import { ipipPlanOnHost } from "../plan/desired-ipip.ts";
import { isDsLitePlan, type Plan } from "../plan/method.ts";
import type { HostState } from "../plan/observed.ts";
import { planParts } from "../plan/plan-parts.ts";
import type { AppliedState } from "../plan/reconcile.ts";
import type { Settings } from "../plan/settings.ts";
import { DsLiteError, type AftrParameters } from "../provision/dslite.ts";
import type { Resolution } from "./parameter-sources.ts";

export type AftrResolver = (aftr: AftrParameters, resolvers: readonly string[]) => Promise<ResolvedAftr>;

/** The plan for what the line said, where its parameters came from, and why they may be old. */
export interface LinePlan {
  readonly plan: Plan;
  readonly prefixFrom: string;
  readonly source: string;
  /** Set when the AFTR's name did not resolve and its last address is kept: why. */
  readonly stale: string | null;
}

/**
 * The AFTR's address, its name asked again at every plan: the daemon plans at every event and
 * check, so a new address is followed at the next one. A name that does not resolve now keeps the
 * address the applied plan has for the same name (a resolver briefly away must not take the path
 * down); with nothing applied for it, the error stands.
 */
async function aftrAddress(
  aftr: AftrParameters,
  resolvers: readonly string[],
  previous: AppliedState | null,
  resolveName: AftrResolver,
): Promise<{ aftr: ResolvedAftr; stale: string | null }> {
  try {
    return { aftr: await resolveName(aftr, resolvers), stale: null };
  } catch (err) {
    const before = previous?.plan;
    const same =
      before !== undefined && isDsLitePlan(before) && aftr.name !== null && before.aftr.name === aftr.name;
    if (!(err instanceof DsLiteError) || !same) throw err;
    return {
      aftr: { ...aftr, address: before.aftr.address },
      stale: `${err.message}; keeping the AFTR's last address ${before.aftr.address}`,
    };
  }
}

function ceOf(previous: AppliedState | null): string[] {
  const address = previous === null ? null : planParts(previous.plan).wanAddress;
  return address === null ? [] : [address];
}

/** verify + generate for the line's method: MAP-E from its parameters, DS-Lite from its AFTR. */
export async function planForLine(
  settings: Settings,
  context: PlanContext,
  host: HostState,
  resolution: Resolution,
  previous: AppliedState | null,
  resolveName: AftrResolver = resolveAftr,
): Promise<LinePlan> {
  if (resolution.ipip !== undefined) {
    return {
      plan: ipipPlanOnHost(settings, context, resolution.ipip),
      prefixFrom: `${formatIpv6Prefix(context.prefix)} from ${context.prefixFrom}`,
      source: resolution.ipip.from,
      stale: null,
    };
  }
  if (resolution.dsLite === undefined) {
    if (resolution.resolved === null)
      throw new DsLiteError("the line's answer has neither MAP-E parameters nor an AFTR");
    const { plan, prefixFrom } = planFromResolved(settings, context, resolution.resolved);
    return { plan, prefixFrom, source: resolution.resolved.source, stale: null };
  }
  const { aftr, stale } = await aftrAddress(resolution.dsLite, settings.resolvers, previous, resolveName);
  return {
    // the previous plan's CE address is mapectl's own, never the WAN's: not a B4 source
    plan: dsLitePlanOnHost(settings, context, host, aftr, ceOf(previous)),
    prefixFrom: `${formatIpv6Prefix(context.prefix)} from ${context.prefixFrom}`,
    source: aftr.from,
    stale,
  };
}
