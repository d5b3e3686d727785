import { computeParameters, readCeAddress } from "../../mape/compute.ts";
import { formatIpv4 } from "../../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6 } from "../../mape/ipv6.ts";
import type { ResolvedParameters } from "../../provision/parameters.ts";
import {
  ip4ip6Params,
  ip6tnl,
  ipv4Address as ipv4AddressArgv,
  ipv6HostAddress,
} from "../../render/iproute2.ts";
import { shellCommand } from "../../render/shell.ts";
import type { RuleTable } from "../../rules/table.ts";
import { type CheckContext, ok, same6 } from "../context.ts";
import type { Finding } from "../findings.ts";
import { vyosTunnel, vyosTunnelFix, vyosWanAddress, WAN_PLACEHOLDER } from "../fixes.ts";
import { natFix } from "./nat-fix.ts";

/** Which end-user prefix a CE address belongs to, under any rule of the table and either layout. */
function decodeAnyCe(table: RuleTable, address: string): { prefix: string } | null {
  let value: bigint;
  try {
    value = parseIpv6(address);
  } catch {
    return null;
  }
  for (const entry of table.rules) {
    for (const layout of ["draft-03", "rfc7597"] as const) {
      if (readCeAddress(entry.rule, value, layout) !== null) {
        const len = entry.rule.ipv6Prefix.length + entry.rule.eaBits;
        const mask = len === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - len)) - 1n);
        return { prefix: formatIpv6Prefix({ value: value & mask, length: len }) };
      }
    }
  }
  return null;
}

/** The tunnel's local address against the CE address the prefix gives, when they differ. */
interface WrongLocal {
  readonly expected: ResolvedParameters;
  readonly ce: string;
  readonly local: string | null;
  /** The old prefix when the local address is the CE address of another prefix of the table. */
  readonly oldPrefix: string | null;
  /** Where the wrong address is: it is removed only there (deleting an absent one fails). */
  readonly oldOn: readonly string[];
}

function wrongLocal(ctx: CheckContext): WrongLocal | null {
  const { expected } = ctx;
  if (expected === null) return null;
  const ce = formatIpv6(expected.params.ceAddress);
  const local = ctx.tunnel.local;
  if (same6(local, ce)) return null;
  const decoded = local === null ? null : decodeAnyCe(ctx.input.table, local);
  const stale = decoded !== null && decoded.prefix !== formatIpv6Prefix(expected.params.endUserPrefix);
  const oldOn =
    local === null
      ? []
      : ctx.host.addresses.filter((a) => a.family === 6 && same6(a.address, local)).map((a) => a.dev);
  return { expected, ce, local, oldPrefix: stale ? decoded.prefix : null, oldOn };
}

/** The CE address on the WAN and as the tunnel's source, the wrong one gone. */
function ceFix(ctx: CheckContext, w: WrongLocal): string[] {
  const { name, wan } = ctx;
  return [
    shellCommand(ipv6HostAddress("replace", w.ce, wan ?? WAN_PLACEHOLDER)),
    shellCommand(ip6tnl("change", name, ip4ip6Params(w.ce, ctx.tunnel.remote ?? "BR", wan))),
    ...w.oldOn.map((dev) => shellCommand(ipv6HostAddress("del", w.local ?? "", dev))),
  ];
}

function vyosCeLines(ctx: CheckContext, w: WrongLocal): string[] {
  return [
    vyosTunnel(ctx, "set", "source-address", w.ce),
    vyosWanAddress("set", ctx.wan, w.ce),
    ...(w.local === null ? [] : [vyosWanAddress("delete", ctx.wan, w.local)]),
  ];
}

/** The tunnel still uses the CE address of the line's previous prefix. */
export function prefixChanged(ctx: CheckContext): Finding | null {
  const w = wrongLocal(ctx);
  if (w?.oldPrefix == null) return null;
  const { name } = ctx;
  const p = w.expected.params;
  const newPrefix = formatIpv6Prefix(p.endUserPrefix);
  // Everything that derives from the prefix follows it: CE address, IPv4 address, NAT.
  const v4 = formatIpv4(p.ipv4Address);
  const oldV4 = ctx.host.addresses
    .filter((a) => a.family === 4 && a.dev === name && a.address !== v4)
    .map((a) => a.address);
  return {
    id: "prefix-changed",
    verdict: "fail",
    summary: `the tunnel's local address ${w.local ?? "?"} belongs to the old prefix ${w.oldPrefix}; the line now has ${newPrefix} (IPv4 ${v4}, PSID ${p.psid}): the CE address, IPv4 address and NAT must follow`,
    evidence: {
      tunnelLocal: w.local,
      oldPrefix: w.oldPrefix,
      newPrefix,
      expectedCe: w.ce,
      expectedIpv4: v4,
    },
    fix:
      ctx.input.reapply != null
        ? [ctx.input.reapply]
        : [
            ...ceFix(ctx, w),
            shellCommand(ipv4AddressArgv("replace", v4, 32, name)),
            ...oldV4.map((a) => shellCommand(ipv4AddressArgv("del", a, 32, name))),
            ...natFix(ctx, w.expected, []),
          ],
    vyosFix: ctx.vyosDefinition ?? [
      ...vyosCeLines(ctx, w),
      vyosTunnel(ctx, "set", "address", `${v4}/32`),
      ...oldV4.map((a) => vyosTunnel(ctx, "delete", "address", `${a}/32`)),
      "commit",
      "# then reload the NAPT for the new address and ports: mapectl render --target vyos",
    ],
  };
}

/** The tunnel's local address is not the CE address of the line's prefix (often the other interface-ID layout). */
export function ceAddressMismatch(ctx: CheckContext): Finding | null {
  const { expected } = ctx;
  if (expected === null) return null;
  const w = wrongLocal(ctx);
  if (w === null)
    return ok(
      "ce-address-mismatch",
      `the tunnel's local address is the CE address ${formatIpv6(expected.params.ceAddress)}`,
    );
  if (w.oldPrefix !== null) return null;
  const p = expected.params;
  const otherLayout = p.interfaceId === "draft-03" ? "rfc7597" : "draft-03";
  const otherCe = formatIpv6(computeParameters(p.endUserPrefix, p.rule, otherLayout).ceAddress);
  const layout = same6(w.local, otherCe);
  return {
    id: "ce-address-mismatch",
    verdict: "fail",
    summary: layout
      ? `the tunnel's local address ${w.local ?? "?"} uses the ${otherLayout} interface ID, but this BR expects ${p.interfaceId}: ${w.ce}`
      : `the tunnel's local address ${w.local ?? "?"} is not the CE address of ${formatIpv6Prefix(p.endUserPrefix)}, which is ${w.ce}`,
    evidence: { tunnelLocal: w.local, expectedCe: w.ce, interfaceId: p.interfaceId, wrongLayout: layout },
    fix: ceFix(ctx, w),
    vyosFix: vyosTunnelFix(ctx, vyosCeLines(ctx, w)),
  };
}

function assignedCe(ctx: CheckContext) {
  const local = ctx.tunnel.local;
  return local === null
    ? null
    : { local, on: ctx.host.addresses.filter((a) => a.family === 6 && same6(a.address, local)) };
}

/** The tunnel's source address is on no interface, so the kernel sends nothing from it. */
export function ceAddressMissing(ctx: CheckContext): Finding | null {
  const ce = assignedCe(ctx);
  if (ce === null) return null;
  const { local } = ce;
  if (ce.on.length > 0)
    return ok("ce-address-missing", `${local} is on ${ce.on.map((a) => a.dev).join(", ")}`);
  return {
    id: "ce-address-missing",
    verdict: "fail",
    summary: `the CE address ${local} is not assigned to any interface: the kernel will not send from it ("Local address not yet configured"), nothing leaves`,
    evidence: { address: local, wan: ctx.wan },
    fix: [shellCommand(ipv6HostAddress("add", local, ctx.wan ?? WAN_PLACEHOLDER))],
    vyosFix: [vyosWanAddress("set", ctx.wan, local), "commit"],
  };
}

/** Duplicate address detection failed for the CE address: another router on the line holds it. */
export function ceAddressDuplicate(ctx: CheckContext): Finding | null {
  const ce = assignedCe(ctx);
  if (ce === null || ce.on.length === 0) return null;
  const { local } = ce;
  const dup = ce.on.find((a) => a.dadFailed);
  if (dup === undefined)
    return ok("ce-address-duplicate", "no duplicate of the CE address was detected on the line");
  const first = "# first put the other router on this line in bridge/AP mode (or unplug it), then:";
  return {
    id: "ce-address-duplicate",
    verdict: "fail",
    summary: `duplicate address detection failed for ${local} on ${dup.dev}: another CE on this line uses it, so the kernel will not send from it (is the ISP's router still in router mode? put it in bridge/AP mode)`,
    evidence: { address: local, dev: dup.dev, flags: "dadfailed" },
    // Nothing on this host can take the address back from the other router; once it is in
    // bridge/AP mode, adding the address again runs DAD again (and it succeeds).
    fix: [
      first,
      shellCommand(ipv6HostAddress("del", local, dup.dev)),
      shellCommand(ipv6HostAddress("add", local, dup.dev)),
    ],
    vyosFix: [
      first,
      vyosWanAddress("delete", dup.dev, local),
      "commit",
      vyosWanAddress("set", dup.dev, local),
      "commit",
    ],
  };
}

/** The tunnel lacks the line's IPv4 address (or has others). */
export function ipv4Address(ctx: CheckContext): Finding | null {
  const { expected, name } = ctx;
  if (expected === null) return null;
  const v4 = ctx.host.addresses.filter((a) => a.family === 4 && a.dev === name).map((a) => a.address);
  const want = formatIpv4(expected.params.ipv4Address);
  if (v4.includes(want)) return ok("ipv4-address", `${want} is on ${name}`);
  return {
    id: "ipv4-address",
    verdict: "fail",
    summary: `the tunnel has ${v4.length === 0 ? "no IPv4 address" : v4.join(", ")}, the line's IPv4 address is ${want}`,
    evidence: { addresses: v4, expected: want },
    fix: [
      shellCommand(ipv4AddressArgv("add", want, 32, name)),
      ...v4.map((a) => shellCommand(ipv4AddressArgv("del", a, 32, name))),
    ],
    vyosFix: vyosTunnelFix(ctx, [vyosTunnel(ctx, "set", "address", `${want}/32`)]),
  };
}
