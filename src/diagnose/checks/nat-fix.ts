import { formatIpv4 } from "../../mape/ipv4.ts";
import { formatIpv6 } from "../../mape/ipv6.ts";
import type { ResolvedParameters } from "../../provision/parameters.ts";
import { renderNaptTable, type NaptSpec } from "../../render/nftables.ts";
import { MAX_TUNNEL_MTU } from "../../plan/plan.ts";
import type { CheckContext } from "../context.ts";
import { reapplyCommand } from "../fixes.ts";
import type { NatRule } from "../nat-analysis.ts";

/** Priority of mapectl's own srcnat chain (srcnat - 1): NAT chains below it would still run first. */
const MAPECTL_SRCNAT_PRIORITY = 99;

/** mapectl's NAPT table for these parameters on this tunnel; null without a BR to name. */
function napt(expected: ResolvedParameters, tunnel: string): NaptSpec | null {
  const p = expected.params;
  if (p.rule.br === null) return null;
  return {
    tunnel,
    mtu: MAX_TUNNEL_MTU,
    br: formatIpv6(p.rule.br),
    psid: p.psid,
    ipv4Address: formatIpv4(p.ipv4Address),
    ipv4PrefixLength: p.ipv4PrefixLength,
    ipv4LastAddress: formatIpv4(p.ipv4Address + 2 ** (32 - p.ipv4PrefixLength) - 1),
    portSets: p.portSets,
    portCount: p.portCount,
    forwards: [],
    tcpTimeWait: null,
    // the LAN interfaces are not known here; `up` adds the fast path again
    fastPathDevices: [],
    allocator: "fold",
    maxPortsPerHost: null,
  };
}

/**
 * The NAT fix: mapectl's NAPT table (every port block, tcp, udp and icmp, the router's own traffic,
 * MSS clamping) loaded with `nft -f`. Its chain runs at srcnat - 1, before any NAT at srcnat, so
 * rules that got it wrong no longer matter; the ones in chains that would still run first are
 * deleted by handle.
 */
export function natFix(ctx: CheckContext, expected: ResolvedParameters, wrong: readonly NatRule[]): string[] {
  const table = napt(expected, ctx.name);
  if (table === null) return [reapplyCommand(ctx.input)];
  const deletes = [...new Set(wrong)]
    .filter(
      (r) =>
        r.priority < MAPECTL_SRCNAT_PRIORITY &&
        r.handle !== null &&
        r.oifname === ctx.name &&
        !r.where.startsWith("ip mapectl "),
    )
    .map((r) => `nft delete rule ${r.where} handle ${String(r.handle)}`);
  return [...deletes, `nft -f - <<'EOF'\n${renderNaptTable(table)}EOF`];
}
