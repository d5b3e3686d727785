import { formatIpv4 } from "../../mape/ipv4.ts";
import { portInSet } from "../../mape/port-set.ts";
import type { ResolvedParameters } from "../../provision/parameters.ts";
import { type CheckContext, ok } from "../context.ts";
import type { Finding } from "../findings.ts";
import { analyzeNat, foldedRule, portFolds, type NatRule } from "../nat-analysis.ts";
import { natFix } from "./nat-fix.ts";

/** What each kind of IPv4 traffic leaving the tunnel meets first in the host's NAT rules. */
interface NatView {
  readonly expected: ResolvedParameters;
  readonly rules: readonly NatRule[];
  /** Forwarded from the LAN. */
  readonly lanTcp: readonly NatRule[];
  readonly lanUdp: readonly NatRule[];
  /** The router's own (no LAN source address). */
  readonly ownTcp: readonly NatRule[];
  readonly icmp: readonly NatRule[];
  /** Every rule that translates TCP or UDP. */
  readonly ported: readonly NatRule[];
  readonly vyosNat: readonly string[];
}

/** Port coverage that the first applicable rule (or its verdict-map alternatives) gives one kind of traffic. */
function coverage(
  rules: readonly NatRule[],
  tunnel: string,
  protocol: string,
  fromRouter: boolean,
): NatRule[] {
  const applies = (r: NatRule) =>
    (r.oifname === null || r.oifname === tunnel) &&
    (r.protocols === null || r.protocols.includes(protocol)) &&
    (!fromRouter || r.sourceMatch === null);
  const first = rules.find(applies);
  if (first === undefined) return [];
  return first.alternative === null
    ? [first]
    : rules.filter((r) => r.alternative === first.alternative && applies(r));
}

/** VyOS's own NAT rules by number (vyos_nat names them SRC-NAT-<n>). */
function vyosRuleNumber(rule: NatRule): string | undefined {
  return /^SRC-NAT-([0-9]+)$/.exec(rule.comment ?? "")?.[1];
}

function vyosNatFix(rules: readonly NatRule[], tunnel: string): string[] {
  const numbers = [
    ...new Set(
      rules
        .filter((r) => r.oifname === tunnel)
        .map(vyosRuleNumber)
        .filter((n): n is string => n !== undefined),
    ),
  ];
  return [
    "# VyOS NAT rules take one port range and no ICMP: delete them and let mapectl own the NAPT",
    ...(numbers.length === 0
      ? ["# delete the source NAT rules that send traffic out of the tunnel: delete nat source rule <N>"]
      : numbers.map((n) => `delete nat source rule ${n}`)),
    "commit",
    "# then load mapectl's table (VyOS never touches it) now and at every boot: mapectl render --target vyos",
  ];
}

function natView(ctx: CheckContext, expected: ResolvedParameters): NatView {
  const rules = ctx.input.ruleset === null ? [] : analyzeNat(ctx.input.ruleset);
  // a fold after NAT (mapectl's fold allocator) decides the ports on the wire: judge those
  const folds = ctx.input.ruleset === null ? {} : portFolds(ctx.input.ruleset, ctx.name);
  const folded = new Map<string, NatRule>();
  const onWire = (rule: NatRule, protocol: string): NatRule => {
    const fold = folds[protocol];
    const key = `${rules.indexOf(rule)} ${fold === undefined ? "" : Object.keys(folds).find((p) => folds[p] === fold)}`;
    const known = folded.get(key) ?? foldedRule(rule, fold);
    folded.set(key, known);
    return known;
  };
  const of = (protocol: string, fromRouter: boolean) =>
    coverage(rules, ctx.name, protocol, fromRouter).map((r) => onWire(r, protocol));
  const lanTcp = of("tcp", false);
  const lanUdp = of("udp", false);
  const ownTcp = of("tcp", true);
  const ownUdp = of("udp", true);
  return {
    expected,
    rules,
    lanTcp,
    lanUdp,
    ownTcp,
    icmp: of("icmp", false),
    ported: [...new Set([...lanTcp, ...lanUdp, ...ownTcp, ...ownUdp])],
    vyosNat: vyosNatFix(rules, ctx.name),
  };
}

function inSet(expected: ResolvedParameters, port: number): boolean {
  const p = expected.params;
  return portInSet(port, p.rule.psidOffset, p.rule.psidLength, p.psid);
}

function ranges(list: readonly (readonly [number, number])[]): string {
  const text = list.slice(0, 4).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return list.length > 4 ? `${text.join(", ")}, … (${list.length} ranges)` : text.join(", ");
}

/** Ports or addresses a BR will drop (TCP and UDP; ICMP is nat-icmp's). */
function problems(expected: ResolvedParameters, list: readonly NatRule[], kept = "source port"): string[] {
  const p = expected.params;
  const v4 = formatIpv4(p.ipv4Address);
  const found: string[] = [];
  for (const r of list) {
    if (r.kind === "masquerade" && r.ports === null)
      found.push(`${r.where}: masquerade keeps the ${kept}, outside the port set`);
    else if (r.ports === null)
      found.push(
        `${r.where}: snat to ${r.addresses?.join(", ") ?? "?"} keeps the ${kept}, outside the port set`,
      );
    else {
      const bad = r.ports.filter(([a, b]) => !inSet(expected, a) || !inSet(expected, b));
      if (bad.length > 0) found.push(`${r.where}: ports ${ranges(bad)} are outside PSID ${p.psid}'s set`);
    }
    const wrongAddr = (r.addresses ?? []).filter((a) => a !== v4);
    if (wrongAddr.length > 0)
      found.push(`${r.where}: translates to ${wrongAddr.join(", ")}, the line's address is ${v4}`);
  }
  return found;
}

/** Nothing translates, or something translates outside the line's address and port set. */
function natOutsidePortSet(ctx: CheckContext, nat: NatView): Finding {
  const { expected } = nat;
  const p = expected.params;
  const outside = problems(expected, nat.ported);
  if (nat.lanTcp.length > 0 && nat.lanUdp.length === 0)
    outside.push(`UDP leaving through ${ctx.name} is not translated at all`);
  if (nat.lanTcp.length === 0 && nat.ownTcp.length === 0)
    return {
      id: "nat-outside-port-set",
      verdict: "fail",
      summary: `nothing translates IPv4 leaving through ${ctx.name}: private source addresses and ports go to the BR, which drops them`,
      evidence: { natRules: nat.rules.length },
      fix: natFix(ctx, expected, nat.rules),
      vyosFix: nat.vyosNat,
    };
  if (outside.length > 0)
    return {
      id: "nat-outside-port-set",
      verdict: "fail",
      summary: `the NAT translates outside this line's port set: ${outside.join("; ")}`,
      evidence: { problems: outside },
      fix: natFix(ctx, expected, nat.ported),
      vyosFix: nat.vyosNat,
    };
  return ok(
    "nat-outside-port-set",
    `every NAT target is ${formatIpv4(p.ipv4Address)} inside PSID ${p.psid}'s set`,
  );
}

/** The NAT from the LAN uses only part of the line's ports. */
function natPortCoverage(ctx: CheckContext, nat: NatView): Finding | null {
  const { expected, lanTcp } = nat;
  if (lanTcp.length === 0) return null;
  const total = expected.params.portCount;
  const covered = new Set<number>();
  for (const r of lanTcp)
    for (const [a, b] of r.ports ?? [])
      for (let port = a; port <= b; port++) if (inSet(expected, port)) covered.add(port);
  if (covered.size >= total) return ok("nat-port-coverage", `the NAT uses all ${total} ports`);
  const firstOnly = lanTcp.some((r) => r.firstPortOnly);
  return {
    id: "nat-port-coverage",
    verdict: "fail",
    summary:
      covered.size === 0
        ? `the NAT maps into none of the ${total} ports of this line`
        : `the NAT covers ${covered.size} of the ${total} ports of this line${firstOnly ? ' (nft keeps only the first port of each range in "snat to A : numgen … map { i : lo-hi }")' : ""}: connections fail once they are used up`,
    evidence: { covered: covered.size, total, ranges: lanTcp.flatMap((r) => r.ports ?? []) },
    fix: natFix(ctx, expected, nat.ported),
    vyosFix: nat.vyosNat,
  };
}

/** ICMP echo must be translated into the port set too, or ping fails. */
function natIcmp(ctx: CheckContext, nat: NatView): Finding {
  const { icmp } = nat;
  const icmpProblems = problems(nat.expected, icmp, "echo id");
  if (icmp.length > 0 && icmpProblems.length === 0)
    return ok("nat-icmp", "ICMP echo ids are translated into the port set");
  return {
    id: "nat-icmp",
    verdict: "fail",
    summary:
      icmp.length === 0
        ? `ICMP leaving through ${ctx.name} is not translated at all: the BR drops echo requests from a private address, so ping fails`
        : `ICMP is not translated into the port set (${icmpProblems.join("; ")}): the BR drops echo requests whose id is outside it, so ping fails`,
    evidence: { icmpRules: icmp.map((r) => r.where), problems: icmpProblems },
    fix: natFix(ctx, nat.expected, icmp),
    vyosFix: nat.vyosNat,
  };
}

/** A NAT limited to the LAN's addresses leaves the router's own traffic untranslated. */
function natSourceRestricted(ctx: CheckContext, nat: NatView): Finding {
  const { lanTcp } = nat;
  if (lanTcp.length === 0 || nat.ownTcp.length > 0)
    return ok("nat-source-restricted", "the router's own traffic is translated too");
  return {
    id: "nat-source-restricted",
    verdict: "fail",
    summary: `the NAT only applies to ${lanTcp.map((r) => r.sourceMatch).join(", ")}: the router's own IPv4 traffic (DNS, NTP, updates) leaves untranslated and is dropped`,
    evidence: { sourceMatch: lanTcp.map((r) => r.sourceMatch) },
    fix: natFix(ctx, nat.expected, lanTcp),
    vyosFix: [
      ...lanTcp.map((r) => {
        const n = vyosRuleNumber(r);
        return n === undefined
          ? `# in the VyOS source NAT rule for ${r.sourceMatch ?? "the LAN"}: delete nat source rule <N> source address`
          : `delete nat source rule ${n} source address`;
      }),
      "commit",
    ],
  };
}

/** The NAT checks, on one reading of the host's NAT rules; none without the line's parameters. */
export function natChecks(ctx: CheckContext): (Finding | null)[] {
  if (ctx.expected === null) return [];
  const nat = natView(ctx, ctx.expected);
  return [
    natOutsidePortSet(ctx, nat),
    natPortCoverage(ctx, nat),
    natIcmp(ctx, nat),
    natSourceRestricted(ctx, nat),
  ];
}
