import { computeParameters, readCeAddress } from "../mape/compute.ts";
import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6 } from "../mape/ipv6.ts";
import { portInSet } from "../mape/port-set.ts";
import type { HostState, ObservedLink } from "../plan/observed.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import { renderNftables } from "../render/nftables.ts";
import { buildPlan } from "../plan/plan.ts";
import type { RuleTable } from "../rules/table.ts";
import { analyzeNat, hasMssClamp, type NatRule } from "./nat-analysis.ts";
import { sortFindings, type Finding } from "./findings.ts";

export interface Neighbour {
  readonly address: string;
  readonly dev: string;
  readonly state: readonly string[];
}

export interface RouteLookup {
  readonly gateway: string | null;
  readonly dev: string | null;
}

/** Everything doctor looked at on the host; pure data, so every check is a unit-testable function. */
export interface DoctorInput {
  readonly host: HostState;
  readonly ruleset: unknown;
  readonly neighbours: readonly Neighbour[];
  /** `ip -6 route get <tunnel remote>`, null when there is no route at all. */
  readonly brRoute: RouteLookup | null;
  readonly wan: string | null;
  /** What the line's prefix says the parameters are, or why there are none. */
  readonly expected:
    | { readonly resolved: ResolvedParameters; readonly prefixFrom: string }
    | { readonly error: string; readonly notMape: boolean }
    | null;
  readonly table: RuleTable;
  readonly vyos: boolean;
  /** The tunnel mapectl made, if any, to prefer when several exist. */
  readonly preferredTunnel: string | null;
}

export interface DoctorResult {
  readonly tunnel: string | null;
  readonly findings: Finding[];
}

function same6(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  try {
    return parseIpv6(a) === parseIpv6(b);
  } catch {
    return false;
  }
}

/** The MAP-E tunnel, even when mapectl did not make it: an ip4ip6 ip6tnl with real endpoints. */
export function findTunnel(host: HostState, preferred: string | null): ObservedLink | null {
  const candidates = host.links.filter(
    (l) =>
      l.kind === "ip6tnl" &&
      l.tunnel !== null &&
      (l.tunnel.mode === "ipip6" || l.tunnel.mode === "ip4ip6" || l.tunnel.mode === "any") &&
      l.tunnel.remote !== null &&
      !same6(l.tunnel.remote, "::"),
  );
  const carrying = host.routes.find(
    (r) => r.family === 4 && r.dst === "default" && candidates.some((c) => c.name === r.dev),
  );
  return (
    candidates.find((c) => c.name === preferred) ??
    candidates.find((c) => c.name === carrying?.dev) ??
    candidates[0] ??
    null
  );
}

function brOwner(table: RuleTable, br: string): string | null {
  const hit = table.rules.find((r) => r.rule.br !== null && same6(formatIpv6(r.rule.br), br));
  return hit?.service?.name ?? null;
}

function ok(id: Finding["id"], summary: string, evidence: Record<string, unknown> = {}): Finding {
  return { id, verdict: "ok", summary, evidence, fix: [] };
}

function ranges(list: readonly (readonly [number, number])[]): string {
  const text = list.slice(0, 4).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return list.length > 4 ? `${text.join(", ")}, … (${list.length} ranges)` : text.join(", ");
}

/** Runs every check and returns findings, most likely cause of a dead path first. */
export function runChecks(input: DoctorInput): DoctorResult {
  const findings: Finding[] = [];
  const { host } = input;
  const expected = input.expected !== null && "resolved" in input.expected ? input.expected.resolved : null;

  if (input.expected !== null && "error" in input.expected) {
    findings.push({
      id: "not-mape-line",
      verdict: input.expected.notMape ? "fail" : "warn",
      summary: input.expected.error,
      evidence: { wan: input.wan },
      fix: [],
    });
  }
  const tunnel = findTunnel(host, input.preferredTunnel);
  if (tunnel?.tunnel == null) {
    findings.push({
      id: "tunnel-missing",
      verdict: "fail",
      summary: "there is no MAP-E tunnel (ip6tnl in ip4ip6 mode) on this host",
      evidence: { ip6tnlLinks: host.links.filter((l) => l.kind === "ip6tnl").map((l) => l.name) },
      fix: [`mapectl up${input.wan === null ? "" : ` --wan ${input.wan}`}`],
    });
    return { tunnel: null, findings: sortFindings(findings) };
  }
  const t = tunnel.tunnel;
  const name = tunnel.name;
  const wan = input.wan ?? t.link;
  const vyosTun = /^tun[0-9]+$/.test(name) ? name : "tun0";

  // --- the tunnel's endpoints against what the prefix says
  if (expected !== null) {
    const br = expected.params.rule.br === null ? null : formatIpv6(expected.params.rule.br);
    const ce = formatIpv6(expected.params.ceAddress);
    const service = expected.service?.name ?? "this line's service";
    if (br !== null && !same6(t.remote, br)) {
      const owner = t.remote === null ? null : brOwner(input.table, t.remote);
      findings.push({
        id: "br-mismatch",
        verdict: "fail",
        summary: `the tunnel sends to ${t.remote ?? "?"}${owner === null ? "" : ` (the BR of ${owner})`}, but ${formatIpv6Prefix(expected.params.endUserPrefix)} is ${service}, served by BR ${br}: that BR drops everything from this CE, so nothing ever comes back`,
        evidence: { tunnel: name, remote: t.remote, expectedBr: br, service: expected.service?.id ?? null },
        fix: [
          `ip -6 tunnel change ${name} mode ip4ip6 remote ${br} local ${t.local ?? ce}${wan === null ? "" : ` dev ${wan}`} encaplimit none`,
          ...(wan === null
            ? []
            : [`ip -6 route replace ${br}/128 via ${gatewayOf(input) ?? "fe80::…"} dev ${wan}`]),
        ],
        vyosFix: [
          `set interfaces tunnel ${vyosTun} remote ${br}`,
          ...(wan === null
            ? []
            : [
                `set protocols static route6 ${br}/128 next-hop ${gatewayOf(input) ?? "fe80::…"} interface ${wan}`,
              ]),
          "commit",
        ],
      });
    } else if (br !== null) {
      findings.push(
        ok("br-mismatch", `the tunnel's remote ${br} is the BR for this line`, { remote: t.remote }),
      );
    }

    if (!same6(t.local, ce)) {
      const local = t.local;
      const otherLayout = expected.params.interfaceId === "draft-03" ? "rfc7597" : "draft-03";
      const otherCe = formatIpv6(
        computeParameters(expected.params.endUserPrefix, expected.params.rule, otherLayout).ceAddress,
      );
      const decoded = local === null ? null : decodeAnyCe(input.table, local);
      const stale = decoded !== null && decoded.prefix !== formatIpv6Prefix(expected.params.endUserPrefix);
      const fix = [
        `ip -6 addr add ${ce}/128 dev ${wan ?? "WAN"}`,
        `ip -6 tunnel change ${name} mode ip4ip6 local ${ce} remote ${t.remote ?? "BR"}${wan === null ? "" : ` dev ${wan}`} encaplimit none`,
        ...(local === null ? [] : [`ip -6 addr del ${local}/128 dev ${wan ?? "WAN"}`]),
      ];
      const vyosFix = [
        `set interfaces tunnel ${vyosTun} source-address ${ce}`,
        `set interfaces ethernet ${wan ?? "eth1"} address ${ce}/128`,
        ...(local === null ? [] : [`delete interfaces ethernet ${wan ?? "eth1"} address ${local}/128`]),
        "commit",
      ];
      if (stale) {
        findings.push({
          id: "prefix-changed",
          verdict: "fail",
          summary: `the tunnel's local address ${local ?? "?"} belongs to the old prefix ${decoded.prefix}; the line now has ${formatIpv6Prefix(expected.params.endUserPrefix)} (IPv4 ${formatIpv4(expected.params.ipv4Address)}, PSID ${expected.params.psid}): the CE address, IPv4 address and NAT must follow`,
          evidence: {
            tunnelLocal: local,
            oldPrefix: decoded.prefix,
            newPrefix: formatIpv6Prefix(expected.params.endUserPrefix),
            expectedCe: ce,
          },
          fix: ["mapectl up", ...fix],
          vyosFix,
        });
      } else {
        const layout = same6(local, otherCe);
        findings.push({
          id: "ce-address-mismatch",
          verdict: "fail",
          summary: layout
            ? `the tunnel's local address ${local ?? "?"} uses the ${otherLayout} interface ID, but this BR expects ${expected.params.interfaceId}: ${ce}`
            : `the tunnel's local address ${local ?? "?"} is not the CE address of ${formatIpv6Prefix(expected.params.endUserPrefix)}, which is ${ce}`,
          evidence: {
            tunnelLocal: local,
            expectedCe: ce,
            interfaceId: expected.params.interfaceId,
            wrongLayout: layout,
          },
          fix,
          vyosFix,
        });
      }
    } else {
      findings.push(ok("ce-address-mismatch", `the tunnel's local address is the CE address ${ce}`));
    }
  }

  // --- the CE address must be on the WAN, once, and not tentative or duplicated
  const local = t.local;
  if (local !== null) {
    const assigned = host.addresses.filter((a) => a.family === 6 && same6(a.address, local));
    if (assigned.length === 0) {
      findings.push({
        id: "ce-address-missing",
        verdict: "fail",
        summary: `the CE address ${local} is not assigned to any interface: the kernel will not send from it ("Local address not yet configured"), nothing leaves`,
        evidence: { address: local, wan },
        fix: [`ip -6 addr add ${local}/128 dev ${wan ?? "WAN"}`],
        vyosFix: [`set interfaces ethernet ${wan ?? "eth1"} address ${local}/128`, "commit"],
      });
    } else {
      findings.push(ok("ce-address-missing", `${local} is on ${assigned.map((a) => a.dev).join(", ")}`));
      const dup = assigned.find((a) => a.dadFailed);
      findings.push(
        dup === undefined
          ? ok("ce-address-duplicate", "no duplicate of the CE address was detected on the line")
          : {
              id: "ce-address-duplicate",
              verdict: "fail",
              summary: `duplicate address detection failed for ${local} on ${dup.dev}: another CE on this line uses it (is the ISP's router still in router mode? put it in bridge/AP mode)`,
              evidence: { address: local, dev: dup.dev, flags: "dadfailed" },
              fix: [
                "# switch the other router to bridge/AP mode, then:",
                `ip -6 addr del ${local}/128 dev ${dup.dev}`,
                `ip -6 addr add ${local}/128 dev ${dup.dev}`,
              ],
            },
      );
    }
  }

  // --- the route to the BR must go via the WAN's link-local router, not on-link
  const remote = t.remote;
  if (remote !== null) {
    const gw = gatewayOf(input);
    const neighbourFailed = input.neighbours.find(
      (n) =>
        (same6(n.address, remote) ||
          (input.brRoute?.gateway != null && same6(n.address, input.brRoute.gateway))) &&
        n.state.includes("FAILED"),
    );
    const fix =
      wan === null
        ? []
        : [`ip -6 route replace ${remote}/128 via ${gw ?? "fe80::… (the WAN's default router)"} dev ${wan}`];
    const vyosFix =
      wan === null
        ? []
        : [
            `set protocols static route6 ${remote}/128 next-hop ${gw ?? "fe80::…"} interface ${wan}`,
            "commit",
          ];
    if (input.brRoute === null) {
      findings.push({
        id: "br-route",
        verdict: "fail",
        summary: `there is no route to the BR ${remote}`,
        evidence: { br: remote },
        fix,
        vyosFix,
      });
    } else if (input.brRoute.gateway === null) {
      findings.push({
        id: "br-route",
        verdict: "fail",
        summary: `the BR ${remote} is routed on-link (dev ${input.brRoute.dev ?? "?"}, no gateway): the NGN does not answer neighbour solicitations for it, so packets never leave${neighbourFailed === undefined ? "" : " (neighbour entry FAILED)"}`,
        evidence: { br: remote, route: input.brRoute, neighbour: neighbourFailed ?? null },
        fix,
        vyosFix,
      });
    } else if (neighbourFailed !== undefined) {
      findings.push({
        id: "br-route",
        verdict: "fail",
        summary: `the next hop ${neighbourFailed.address} towards the BR does not answer (neighbour FAILED on ${neighbourFailed.dev})`,
        evidence: { br: remote, route: input.brRoute, neighbour: neighbourFailed },
        fix,
        vyosFix,
      });
    } else {
      findings.push(
        ok("br-route", `the BR is reached via ${input.brRoute.gateway} dev ${input.brRoute.dev ?? "?"}`),
      );
    }
  }

  // --- tunnel parameters
  if (t.encapLimit !== "none") {
    findings.push({
      id: "encap-limit",
      verdict: "fail",
      summary: `the tunnel adds an encapsulation-limit destination option (encaplimit ${t.encapLimit ?? "4, the default"}): strict BRs drop such packets, and it costs 8 bytes of MTU`,
      evidence: { tunnel: name, encapLimit: t.encapLimit },
      fix: [`ip -6 tunnel change ${name} encaplimit none`],
      vyosFix: [`set interfaces tunnel ${vyosTun} parameters ipv6 encaplimit none`, "commit"],
    });
  } else {
    findings.push(ok("encap-limit", "encaplimit none"));
  }
  findings.push(
    tunnel.up
      ? ok("tunnel-down", `${name} is up`)
      : {
          id: "tunnel-down",
          verdict: "fail",
          summary: `the tunnel ${name} is down`,
          evidence: { tunnel: name },
          fix: [`ip link set dev ${name} up`],
          vyosFix: [`delete interfaces tunnel ${vyosTun} disable`, "commit"],
        },
  );
  const clamp = input.ruleset !== null && hasMssClamp(input.ruleset, name);
  if (tunnel.mtu > 1460 || !clamp) {
    const problems = [
      ...(tunnel.mtu > 1460
        ? [
            `the tunnel MTU is ${tunnel.mtu}, above 1460 (the NGN's 1500 less 40): full-size packets get fragmented or dropped`,
          ]
        : []),
      ...(clamp
        ? []
        : [
            "no rule clamps the TCP MSS of forwarded SYNs: large downloads and TLS handshakes stall when PMTU discovery is blocked",
          ]),
    ];
    findings.push({
      id: "mtu-mss",
      verdict: "fail",
      summary: problems.join("; "),
      evidence: { mtu: tunnel.mtu, mssClamp: clamp },
      fix: [
        ...(tunnel.mtu > 1460 ? [`ip link set dev ${name} mtu 1460`] : []),
        ...(clamp
          ? []
          : [
              `nft add table ip mapectl_mss`,
              `nft 'add chain ip mapectl_mss forward { type filter hook forward priority filter; }'`,
              `nft add rule ip mapectl_mss forward oifname "${name}" tcp flags syn tcp option maxseg size set rt mtu`,
            ]),
      ],
      vyosFix: [
        ...(tunnel.mtu > 1460 ? [`set interfaces tunnel ${vyosTun} mtu 1460`] : []),
        ...(clamp ? [] : [`set interfaces tunnel ${vyosTun} ip adjust-mss clamp-mss-to-pmtu`]),
        "commit",
      ],
    });
  } else {
    findings.push(ok("mtu-mss", `MTU ${tunnel.mtu}, TCP MSS clamped`));
  }

  // --- IPv4 on the tunnel
  const v4 = host.addresses.filter((a) => a.family === 4 && a.dev === name).map((a) => a.address);
  if (expected !== null) {
    const want = formatIpv4(expected.params.ipv4Address);
    findings.push(
      v4.includes(want)
        ? ok("ipv4-address", `${want} is on ${name}`)
        : {
            id: "ipv4-address",
            verdict: "fail",
            summary: `the tunnel has ${v4.length === 0 ? "no IPv4 address" : v4.join(", ")}, the line's IPv4 address is ${want}`,
            evidence: { addresses: v4, expected: want },
            fix: [`ip addr add ${want}/32 dev ${name}`, ...v4.map((a) => `ip addr del ${a}/32 dev ${name}`)],
            vyosFix: [`set interfaces tunnel ${vyosTun} address ${want}/32`, "commit"],
          },
    );
  }
  const defaults = host.routes.filter(
    (r) => r.family === 4 && (r.dst === "default" || r.dst === "0.0.0.0/0"),
  );
  const best = [...defaults].sort((a, b) => a.metric - b.metric)[0];
  findings.push(
    best?.dev === name
      ? ok("ipv4-default-route", `IPv4 default route via ${name}`)
      : {
          id: "ipv4-default-route",
          verdict: "fail",
          summary:
            best === undefined
              ? "there is no IPv4 default route"
              : `the IPv4 default route goes via ${best.dev ?? best.gateway ?? "?"}, not the tunnel ${name}`,
          evidence: { defaults },
          fix: [`ip route replace default dev ${name}`],
          vyosFix: [`set protocols static route 0.0.0.0/0 interface ${vyosTun}`, "commit"],
        },
  );

  // --- NAT
  if (expected !== null) findings.push(...natFindings(input, name, expected));

  if (host.ipv4Forwarding === false) {
    findings.push({
      id: "ipv4-forwarding",
      verdict: "warn",
      summary: "IPv4 forwarding is off: LAN hosts cannot reach the tunnel",
      evidence: {},
      fix: ["sysctl -w net.ipv4.ip_forward=1"],
    });
  } else {
    findings.push(ok("ipv4-forwarding", "IPv4 forwarding is on"));
  }
  return { tunnel: name, findings: sortFindings(findings) };
}

function gatewayOf(input: DoctorInput): string | null {
  if (input.brRoute?.gateway != null) return input.brRoute.gateway;
  const wan = input.wan;
  const route = input.host.routes.find(
    (r) => r.family === 6 && r.dst === "default" && r.gateway !== null && (wan === null || r.dev === wan),
  );
  return route?.gateway ?? null;
}

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

function natFindings(input: DoctorInput, tunnel: string, expected: ResolvedParameters): Finding[] {
  const out: Finding[] = [];
  const p = expected.params;
  const v4 = formatIpv4(p.ipv4Address);
  const inSet = (port: number) => portInSet(port, p.rule.psidOffset, p.rule.psidLength, p.psid);
  const rules = input.ruleset === null ? [] : analyzeNat(input.ruleset);
  let fixScript: string[];
  try {
    const plan = buildPlan({
      resolved: expected,
      wan: input.wan ?? "wan",
      lan: [],
      gateway: "fe80::1",
      tunnelName: tunnel,
      mtu: 1460,
      defaultRouteMetric: 10,
      forwards: [],
    });
    fixScript = [`nft -f - <<'EOF'\n${renderNftables(plan)}EOF`];
  } catch {
    fixScript = ["mapectl up"];
  }
  const vyosNat = [
    "# VyOS NAT rules take one port range and no ICMP: delete them and let mapectl own the NAPT",
    "delete nat source",
    "commit",
    "# then load mapectl's table (survives commits) and at boot from /config/scripts/vyos-postconfig-bootup.script:",
    "# mapectl render --target vyos",
  ];
  const lan = coverage(rules, tunnel, "tcp", false);
  const own = coverage(rules, tunnel, "tcp", true);
  const icmp = coverage(rules, tunnel, "icmp", false);

  // Ports or addresses a BR will drop.
  const outside: string[] = [];
  for (const r of [...new Set([...lan, ...own, ...icmp])]) {
    if (r.kind === "masquerade" && r.ports === null)
      outside.push(`${r.where}: masquerade keeps the source port, outside the port set`);
    else if (r.ports === null)
      outside.push(
        `${r.where}: snat to ${r.addresses?.join(", ") ?? "?"} keeps the source port, outside the port set`,
      );
    else {
      const bad = r.ports.filter(([a, b]) => !inSet(a) || !inSet(b));
      if (bad.length > 0) outside.push(`${r.where}: ports ${ranges(bad)} are outside PSID ${p.psid}'s set`);
    }
    const wrongAddr = (r.addresses ?? []).filter((a) => a !== v4);
    if (wrongAddr.length > 0)
      outside.push(`${r.where}: translates to ${wrongAddr.join(", ")}, the line's address is ${v4}`);
  }
  if (lan.length === 0 && own.length === 0) {
    out.push({
      id: "nat-outside-port-set",
      verdict: "fail",
      summary: `nothing translates IPv4 leaving through ${tunnel}: private source addresses and ports go to the BR, which drops them`,
      evidence: { natRules: rules.length },
      fix: fixScript,
      vyosFix: vyosNat,
    });
  } else if (outside.length > 0) {
    out.push({
      id: "nat-outside-port-set",
      verdict: "fail",
      summary: `the NAT translates outside this line's port set: ${outside.join("; ")}`,
      evidence: { problems: outside },
      fix: fixScript,
      vyosFix: vyosNat,
    });
  } else {
    out.push(ok("nat-outside-port-set", `every NAT target is ${v4} inside PSID ${p.psid}'s set`));
  }

  const covered = new Set<number>();
  for (const r of lan)
    for (const [a, b] of r.ports ?? [])
      for (let port = a; port <= b; port++) if (inSet(port)) covered.add(port);
  if (lan.length > 0) {
    const firstOnly = lan.some((r) => r.firstPortOnly);
    out.push(
      covered.size >= p.portCount
        ? ok("nat-port-coverage", `the NAT uses all ${p.portCount} ports`)
        : {
            id: "nat-port-coverage",
            verdict: "fail",
            summary: `the NAT covers ${covered.size} of the ${p.portCount} ports of this line${firstOnly ? ' (nft keeps only the first port of each range in "snat to A : numgen … map { i : lo-hi }")' : ""}: connections fail once they are used up`,
            evidence: {
              covered: covered.size,
              total: p.portCount,
              ranges: lan.flatMap((r) => r.ports ?? []),
            },
            fix: fixScript,
            vyosFix: vyosNat,
          },
    );
  }
  const icmpOk =
    icmp.length > 0 && icmp.every((r) => r.ports !== null && r.ports.every(([a, b]) => inSet(a) && inSet(b)));
  out.push(
    icmpOk
      ? ok("nat-icmp", "ICMP echo ids are translated into the port set")
      : {
          id: "nat-icmp",
          verdict: "fail",
          summary:
            "ICMP is not translated into the port set: the BR drops echo requests whose id is outside it, so ping fails",
          evidence: { icmpRules: icmp.map((r) => r.where) },
          fix: fixScript,
          vyosFix: vyosNat,
        },
  );
  const restricted = lan.length > 0 && own.length === 0;
  out.push(
    restricted
      ? {
          id: "nat-source-restricted",
          verdict: "fail",
          summary: `the NAT only applies to ${lan.map((r) => r.sourceMatch).join(", ")}: the router's own IPv4 traffic (DNS, NTP, updates) leaves untranslated and is dropped`,
          evidence: { sourceMatch: lan.map((r) => r.sourceMatch) },
          fix: fixScript,
          vyosFix: ["delete nat source rule <N> source address", "commit"],
        }
      : ok("nat-source-restricted", "the router's own traffic is translated too"),
  );
  return out;
}
