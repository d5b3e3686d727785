import { formatIpv6, formatIpv6Prefix } from "../../mape/ipv6.ts";
import { ip4ip6Params, ip6tnl, ipv4DefaultDev as defaultRoute, linkSet } from "../../render/iproute2.ts";
import { mssClampRule } from "../../render/nftables.ts";
import { shellCommand } from "../../render/shell.ts";
import type { RuleTable } from "../../rules/table.ts";
import { MAX_TUNNEL_MTU } from "../../plan/plan.ts";
import { type CheckContext, ipv4DefaultDev, ok, same6 } from "../context.ts";
import type { Finding } from "../findings.ts";
import { brRouteFix, gatewayNote, vyosBrRouteFix, vyosTunnel, vyosTunnelFix } from "../fixes.ts";
import { hasMssClamp } from "../nat-analysis.ts";

/** A table of its own for the clamp, so the fix touches nothing of the user's. */
const MSS_TABLE = "mapectl_mss";

function brOwner(table: RuleTable, br: string): string | null {
  const hit = table.rules.find((r) => r.rule.br !== null && same6(formatIpv6(r.rule.br), br));
  return hit?.service?.name ?? null;
}

/** The tunnel sends to another BR than the one serving this line's prefix. */
export function brMismatch(ctx: CheckContext): Finding | null {
  const { expected, tunnel: t, name, wan } = ctx;
  if (expected?.params.rule.br == null) return null;
  const br = formatIpv6(expected.params.rule.br);
  if (same6(t.remote, br))
    return ok("br-mismatch", `the tunnel's remote ${br} is the BR for this line`, { remote: t.remote });
  const ce = formatIpv6(expected.params.ceAddress);
  const service = expected.service?.name ?? "this line's service";
  const owner = t.remote === null ? null : brOwner(ctx.input.table, t.remote);
  return {
    id: "br-mismatch",
    verdict: "fail",
    summary: `the tunnel sends to ${t.remote ?? "?"}${owner === null ? "" : ` (the BR of ${owner})`}, but ${formatIpv6Prefix(expected.params.endUserPrefix)} is ${service}, served by BR ${br}: a BR drops everything from a CE it does not serve, so nothing ever comes back`,
    evidence: { tunnel: name, remote: t.remote, expectedBr: br, service: expected.service?.id ?? null },
    fix: [
      ...gatewayNote(ctx),
      shellCommand(ip6tnl("change", name, ip4ip6Params(t.local ?? ce, br, wan))),
      ...(wan === null ? [] : [brRouteFix(ctx, br)]),
    ],
    vyosFix: vyosTunnelFix(ctx, [
      vyosTunnel(ctx, "set", "remote", br),
      ...(wan === null ? [] : [vyosBrRouteFix(ctx, br, wan)]),
    ]),
  };
}

/** The tunnel adds the encapsulation-limit destination option, which strict BRs drop. */
export function encapLimit(ctx: CheckContext): Finding {
  const { tunnel: t, name } = ctx;
  if (t.encapLimit === "none") return ok("encap-limit", "encaplimit none");
  return {
    id: "encap-limit",
    verdict: "fail",
    summary: `the tunnel adds an encapsulation-limit destination option (encaplimit ${t.encapLimit ?? "4, the default"}): strict BRs drop such packets, and it costs 8 bytes of MTU`,
    evidence: { tunnel: name, encapLimit: t.encapLimit },
    fix: [shellCommand(ip6tnl("change", name, ["encaplimit", "none"]))],
    vyosFix: vyosTunnelFix(ctx, [vyosTunnel(ctx, "set", "parameters", "ipv6", "encaplimit", "none")]),
  };
}

export function tunnelDown(ctx: CheckContext): Finding {
  const { name } = ctx;
  if (ctx.link.up) return ok("tunnel-down", `${name} is up`);
  const routed = ipv4DefaultDev(ctx.host) === name;
  return {
    id: "tunnel-down",
    verdict: "fail",
    summary: `the tunnel ${name} is down${routed ? "" : " (and the kernel dropped the IPv4 routes through it)"}`,
    evidence: { tunnel: name },
    // Taking a link down removes its IPv4 routes; bringing it up does not put them back.
    fix: [
      shellCommand(linkSet(name, ["up"])),
      ...(routed ? [] : [shellCommand(defaultRoute("replace", name))]),
    ],
    vyosFix: vyosTunnelFix(ctx, [vyosTunnel(ctx, "delete", "disable")]),
  };
}

/** The commands that clamp the MSS of SYNs leaving through `tunnel`, in a table of their own. */
export function mssClampFix(tunnel: string): string[] {
  return [
    shellCommand(["nft", "add", "table", "ip", MSS_TABLE]),
    shellCommand(["nft", `add chain ip ${MSS_TABLE} forward { type filter hook forward priority filter; }`]),
    `nft add rule ip ${MSS_TABLE} forward ${mssClampRule(tunnel)}`,
  ];
}

/** A tunnel MTU above what the NGN carries, or no TCP MSS clamping for forwarded SYNs. */
export function mtuMss(ctx: CheckContext): Finding {
  const { name, link } = ctx;
  const clamp = ctx.input.ruleset !== null && hasMssClamp(ctx.input.ruleset, name);
  const tooBig = link.mtu > MAX_TUNNEL_MTU;
  if (!tooBig && clamp) return ok("mtu-mss", `MTU ${link.mtu}, TCP MSS clamped`);
  const problems = [
    ...(tooBig
      ? [
          `the tunnel MTU is ${link.mtu}, above ${MAX_TUNNEL_MTU} (the NGN's 1500 less 40): full-size packets get fragmented or dropped`,
        ]
      : []),
    ...(clamp
      ? []
      : [
          "no rule clamps the TCP MSS of forwarded SYNs: large downloads and TLS handshakes stall when PMTU discovery is blocked",
        ]),
  ];
  return {
    id: "mtu-mss",
    verdict: "fail",
    summary: problems.join("; "),
    evidence: { mtu: link.mtu, mssClamp: clamp },
    fix: [
      ...(tooBig ? [shellCommand(linkSet(name, ["mtu", String(MAX_TUNNEL_MTU)]))] : []),
      ...(clamp ? [] : mssClampFix(name)),
    ],
    vyosFix: vyosTunnelFix(ctx, [
      ...(tooBig ? [vyosTunnel(ctx, "set", "mtu", String(MAX_TUNNEL_MTU))] : []),
      ...(clamp ? [] : [vyosTunnel(ctx, "set", "ip", "adjust-mss", "clamp-mss-to-pmtu")]),
    ]),
  };
}
