import { computeParameters, readCeAddress } from "../mape/compute.ts";
import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, ipv6Mask, parseIpv6, parseIpv6Prefix } from "../mape/ipv6.ts";
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
  /** The neighbour said it is a router (NA with the R flag): a candidate next hop to the BR. */
  readonly router?: boolean;
}

/** A line that is not MAP-E: what it is instead, from the shipped not-MAP-E table. */
export interface OtherLine {
  readonly kind: "ds-lite" | "ntt-native";
  readonly service: string;
  readonly aftr: string | null;
  /** The line's prefix, to pick the B4 address from. */
  readonly prefix: string;
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
    | { readonly error: string; readonly notMape: boolean; readonly line?: OtherLine | null }
    | null;
  readonly table: RuleTable;
  readonly vyos: boolean;
  /** The tunnel mapectl made, if any, to prefer when several exist. */
  readonly preferredTunnel: string | null;
  /**
   * The command that re-applies mapectl's own configuration (`mapectl up --wan …`) when mapectl made
   * this router, else null: then fixes are plain ip/nft lines.
   */
  readonly reapply?: string | null;
  /** The WAN's router as mapectl recorded it when it applied the plan (state file), if any. */
  readonly knownGateway?: string | null;
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
    const line = input.expected.line ?? null;
    const aftr = line?.aftr ?? null;
    const dsLite =
      line?.kind === "ds-lite" && aftr !== null
        ? host.links.find((l) => l.kind === "ip6tnl" && same6(l.tunnel?.remote ?? null, aftr))
        : undefined;
    if (dsLite !== undefined && ipv4DefaultDev(host) === dsLite.name) {
      findings.push({
        id: "not-mape-line",
        verdict: "warn",
        summary: `${input.expected.error}; ${dsLite.name} already goes to the AFTR and carries IPv4: nothing for MAP-E to do here`,
        evidence: { wan: input.wan, tunnel: dsLite.name, aftr },
        fix: [],
      });
      return { tunnel: dsLite.name, findings: sortFindings(findings) };
    }
    findings.push({
      id: "not-mape-line",
      verdict: input.expected.notMape ? "fail" : "warn",
      summary: input.expected.error,
      evidence: { wan: input.wan, line },
      ...(line?.kind === "ds-lite" && aftr !== null
        ? dsLiteFix(input, line.prefix, aftr)
        : {
            fix: input.expected.notMape
              ? [
                  "# there is no MAP-E on this line: ask the ISP which IPv4 service it provides (or whether the IPv6 option is active yet)",
                ]
              : [],
          }),
    });
  }
  const tunnel = findTunnel(host, input.preferredTunnel);
  if (tunnel?.tunnel == null) {
    // A line that is not MAP-E needs no MAP-E tunnel; one without a prefix yet still does.
    if (input.expected !== null && "error" in input.expected && input.expected.notMape)
      return { tunnel: null, findings: sortFindings(findings) };
    findings.push({
      id: "tunnel-missing",
      verdict: "fail",
      summary: "there is no MAP-E tunnel (ip6tnl in ip4ip6 mode) on this host",
      evidence: { ip6tnlLinks: host.links.filter((l) => l.kind === "ip6tnl").map((l) => l.name) },
      fix: [input.reapply ?? `mapectl up${input.wan === null ? "" : ` --wan ${input.wan}`}`],
    });
    return { tunnel: null, findings: sortFindings(findings) };
  }
  const t = tunnel.tunnel;
  const name = tunnel.name;
  const wan = input.wan ?? t.link;
  const vyosTun = /^tun[0-9]+$/.test(name) ? name : "tun0";
  // A tunnel VyOS does not manage (made with ip, named other than tunN) cannot be fixed with `set`
  // lines about it: then every tunnel fix on VyOS is the whole tun0 definition, which replaces it.
  const vyosDefinition =
    vyosTun !== name && expected !== null ? vyosTunnelDefinition(input, expected, name, wan) : null;
  const vyosTunnelFix = (lines: string[]): string[] => vyosDefinition ?? [...lines, "commit"];
  const gateway = gatewayOf(input, wan);
  const brRouteLine = (br: string) =>
    `ip -6 route replace ${br}/128 via ${gateway ?? "GATEWAY"} dev ${wan ?? "WAN"}`;
  const gatewayNote =
    gateway === null
      ? [
          "# GATEWAY: the WAN's IPv6 router (link-local, from its Router Advertisement: ip -6 route show default)",
        ]
      : [];

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
        summary: `the tunnel sends to ${t.remote ?? "?"}${owner === null ? "" : ` (the BR of ${owner})`}, but ${formatIpv6Prefix(expected.params.endUserPrefix)} is ${service}, served by BR ${br}: a BR drops everything from a CE it does not serve, so nothing ever comes back`,
        evidence: { tunnel: name, remote: t.remote, expectedBr: br, service: expected.service?.id ?? null },
        fix: [
          ...gatewayNote,
          `ip -6 tunnel change ${name} mode ip4ip6 remote ${br} local ${t.local ?? ce}${wan === null ? "" : ` dev ${wan}`} encaplimit none`,
          ...(wan === null ? [] : [brRouteLine(br)]),
        ],
        vyosFix: vyosTunnelFix([
          `set interfaces tunnel ${vyosTun} remote ${br}`,
          ...(wan === null
            ? []
            : [`set protocols static route6 ${br}/128 next-hop ${gateway ?? "GATEWAY"} interface ${wan}`]),
        ]),
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
      // The old address is removed only where it is (deleting an address that is not there fails).
      const oldOn =
        local === null
          ? []
          : host.addresses.filter((a) => a.family === 6 && same6(a.address, local)).map((a) => a.dev);
      const fix = [
        `ip -6 addr replace ${ce}/128 dev ${wan ?? "WAN"}`,
        `ip -6 tunnel change ${name} mode ip4ip6 local ${ce} remote ${t.remote ?? "BR"}${wan === null ? "" : ` dev ${wan}`} encaplimit none`,
        ...oldOn.map((dev) => `ip -6 addr del ${local ?? ""}/128 dev ${dev}`),
      ];
      const vyosFix = vyosTunnelFix([
        `set interfaces tunnel ${vyosTun} source-address ${ce}`,
        `set interfaces ethernet ${wan ?? "eth1"} address ${ce}/128`,
        ...(local === null ? [] : [`delete interfaces ethernet ${wan ?? "eth1"} address ${local}/128`]),
      ]);
      if (stale) {
        // Everything that derives from the prefix follows it: CE address, IPv4 address, NAT.
        const v4 = formatIpv4(expected.params.ipv4Address);
        const oldV4 = host.addresses
          .filter((a) => a.family === 4 && a.dev === name && a.address !== v4)
          .map((a) => a.address);
        findings.push({
          id: "prefix-changed",
          verdict: "fail",
          summary: `the tunnel's local address ${local ?? "?"} belongs to the old prefix ${decoded.prefix}; the line now has ${formatIpv6Prefix(expected.params.endUserPrefix)} (IPv4 ${v4}, PSID ${expected.params.psid}): the CE address, IPv4 address and NAT must follow`,
          evidence: {
            tunnelLocal: local,
            oldPrefix: decoded.prefix,
            newPrefix: formatIpv6Prefix(expected.params.endUserPrefix),
            expectedCe: ce,
            expectedIpv4: v4,
          },
          fix:
            input.reapply != null
              ? [input.reapply]
              : [
                  ...fix,
                  `ip addr replace ${v4}/32 dev ${name}`,
                  ...oldV4.map((a) => `ip addr del ${a}/32 dev ${name}`),
                  ...natScript(input, name, expected, []),
                ],
          vyosFix: vyosDefinition ?? [
            `set interfaces tunnel ${vyosTun} source-address ${ce}`,
            `set interfaces ethernet ${wan ?? "eth1"} address ${ce}/128`,
            ...(local === null ? [] : [`delete interfaces ethernet ${wan ?? "eth1"} address ${local}/128`]),
            `set interfaces tunnel ${vyosTun} address ${v4}/32`,
            ...oldV4.map((a) => `delete interfaces tunnel ${vyosTun} address ${a}/32`),
            "commit",
            "# then reload the NAPT for the new address and ports: mapectl render --target vyos",
          ],
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
              summary: `duplicate address detection failed for ${local} on ${dup.dev}: another CE on this line uses it, so the kernel will not send from it (is the ISP's router still in router mode? put it in bridge/AP mode)`,
              evidence: { address: local, dev: dup.dev, flags: "dadfailed" },
              // Nothing on this host can take the address back from the other router; once it is
              // in bridge/AP mode, adding the address again runs DAD again (and it succeeds).
              fix: [
                "# first put the other router on this line in bridge/AP mode (or unplug it), then:",
                `ip -6 addr del ${local}/128 dev ${dup.dev}`,
                `ip -6 addr add ${local}/128 dev ${dup.dev}`,
              ],
              vyosFix: [
                "# first put the other router on this line in bridge/AP mode (or unplug it), then:",
                `delete interfaces ethernet ${dup.dev} address ${local}/128`,
                "commit",
                `set interfaces ethernet ${dup.dev} address ${local}/128`,
                "commit",
              ],
            },
      );
    }
  }

  // --- the route to the BR must go via the WAN's link-local router, not on-link
  const remote = t.remote;
  if (remote !== null) {
    const route = input.brRoute;
    const failed = (address: string, dev: string | null) =>
      input.neighbours.find(
        (n) => same6(n.address, address) && (dev === null || n.dev === dev) && n.state.includes("FAILED"),
      );
    // Only the next hop's entry matters: an old FAILED entry for the BR itself (left from an
    // on-link route) says nothing once the route goes via a router.
    const neighbourFailed =
      route === null
        ? undefined
        : route.gateway === null
          ? failed(remote, route.dev)
          : failed(route.gateway, route.dev);
    const fix = wan === null ? [] : [...gatewayNote, brRouteLine(remote)];
    const vyosFix =
      wan === null
        ? []
        : [
            `set protocols static route6 ${remote}/128 next-hop ${gateway ?? "GATEWAY"} interface ${wan}`,
            "commit",
          ];
    if (route === null) {
      findings.push({
        id: "br-route",
        verdict: "fail",
        summary: `there is no route to the BR ${remote}: nothing can leave through the tunnel`,
        evidence: { br: remote, gateway },
        fix,
        vyosFix,
      });
    } else if (route.gateway === null) {
      findings.push({
        id: "br-route",
        verdict: "fail",
        summary: `the BR ${remote} is routed on-link (dev ${route.dev ?? "?"}, no gateway): the NGN does not answer neighbour solicitations for it, so packets never leave${neighbourFailed === undefined ? "" : " (neighbour entry FAILED)"}`,
        evidence: { br: remote, route, neighbour: neighbourFailed ?? null, gateway },
        fix,
        vyosFix,
      });
    } else if (neighbourFailed !== undefined) {
      findings.push({
        id: "br-route",
        verdict: "fail",
        summary: `the next hop ${neighbourFailed.address} towards the BR does not answer (neighbour FAILED on ${neighbourFailed.dev})`,
        evidence: { br: remote, route, neighbour: neighbourFailed, gateway },
        fix,
        vyosFix,
      });
    } else {
      findings.push(ok("br-route", `the BR is reached via ${route.gateway} dev ${route.dev ?? "?"}`));
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
      vyosFix: vyosTunnelFix([`set interfaces tunnel ${vyosTun} parameters ipv6 encaplimit none`]),
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
          summary: `the tunnel ${name} is down${ipv4DefaultDev(host) === name ? "" : " (and the kernel dropped the IPv4 routes through it)"}`,
          evidence: { tunnel: name },
          // Taking a link down removes its IPv4 routes; bringing it up does not put them back.
          fix: [
            `ip link set dev ${name} up`,
            ...(ipv4DefaultDev(host) === name ? [] : [`ip route replace default dev ${name}`]),
          ],
          vyosFix: vyosTunnelFix([`delete interfaces tunnel ${vyosTun} disable`]),
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
      vyosFix: vyosTunnelFix([
        ...(tunnel.mtu > 1460 ? [`set interfaces tunnel ${vyosTun} mtu 1460`] : []),
        ...(clamp ? [] : [`set interfaces tunnel ${vyosTun} ip adjust-mss clamp-mss-to-pmtu`]),
      ]),
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
            vyosFix: vyosTunnelFix([`set interfaces tunnel ${vyosTun} address ${want}/32`]),
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
          vyosFix: vyosTunnelFix([`set protocols static route 0.0.0.0/0 interface ${vyosTun}`]),
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

/**
 * The WAN's IPv6 router, the BR's next hop: the RA default route first, then what mapectl recorded,
 * then routers in the neighbour table, then any other route via a link-local router on the WAN.
 * Never one whose neighbour entry FAILED.
 */
function gatewayOf(input: DoctorInput, wan: string | null): string | null {
  const onWan = (dev: string | null) => wan === null || dev === wan;
  const dead = (address: string) =>
    input.neighbours.some((n) => same6(n.address, address) && n.state.includes("FAILED"));
  const routes = input.host.routes.filter(
    (r) => r.family === 6 && r.gateway !== null && onWan(r.dev) && r.type === "unicast",
  );
  const candidates = [
    ...routes.filter((r) => r.dst === "default").map((r) => r.gateway),
    input.knownGateway ?? null,
    ...input.neighbours.filter((n) => n.router === true && onWan(n.dev)).map((n) => n.address),
    input.brRoute?.gateway ?? null,
    ...routes.filter((r) => r.gateway?.toLowerCase().startsWith("fe80:") === true).map((r) => r.gateway),
  ];
  return candidates.find((c): c is string => c != null && !dead(c)) ?? null;
}

/** The device of the IPv4 default route the kernel uses (lowest metric), if any. */
function ipv4DefaultDev(host: HostState): string | null {
  const defaults = host.routes.filter(
    (r) => r.family === 4 && (r.dst === "default" || r.dst === "0.0.0.0/0") && r.type === "unicast",
  );
  return [...defaults].sort((a, b) => a.metric - b.metric)[0]?.dev ?? null;
}

function inPrefix(address: string, prefix: string): boolean {
  try {
    const p = parseIpv6Prefix(prefix);
    return (parseIpv6(address) & ipv6Mask(p.length)) === p.value;
  } catch {
    return false;
  }
}

/**
 * A DS-Lite line: MAP-E cannot work, the B4 side of DS-Lite (RFC 6333) does: an ip4ip6 tunnel from
 * an address of the line's prefix to the AFTR, IPv4 default through it, no NAT on this host (the
 * AFTR translates). The MAP-E tunnel goes first.
 */
function dsLiteFix(input: DoctorInput, prefix: string, aftr: string): Pick<Finding, "fix" | "vyosFix"> {
  const wan = input.wan ?? "WAN";
  const mape = findTunnel(input.host, input.preferredTunnel);
  const own = input.host.addresses.filter(
    (a) =>
      a.family === 6 && a.scope === "global" && !a.tentative && !a.dadFailed && inPrefix(a.address, prefix),
  );
  const b4 = (own.find((a) => a.dev === input.wan) ?? own[0])?.address ?? null;
  const name = mape?.name === "dslite" ? "dslite0" : "dslite";
  return {
    fix: [
      ...(mape === null ? [] : [input.reapply != null ? "mapectl down" : `ip link del ${mape.name}`]),
      ...(b4 === null
        ? [`# B4: give ${wan} an address of ${prefix} first (ip -6 addr add …/128 dev ${wan})`]
        : []),
      `ip -6 tunnel add ${name} mode ip4ip6 remote ${aftr} local ${b4 ?? "B4"} dev ${wan} encaplimit none`,
      `ip link set dev ${name} mtu 1460 up`,
      `ip route replace default dev ${name}`,
    ],
    vyosFix: [
      ...(mape === null || /^tun[0-9]+$/.test(mape.name)
        ? []
        : [`# remove the hand-made ${mape.name}: sudo ip link del ${mape.name}`]),
      "set interfaces tunnel tun1 encapsulation ipip6",
      `set interfaces tunnel tun1 source-address ${b4 ?? "B4"}`,
      `set interfaces tunnel tun1 remote ${aftr}`,
      "set interfaces tunnel tun1 parameters ipv6 encaplimit none",
      "set interfaces tunnel tun1 mtu 1460",
      "set protocols static route 0.0.0.0/0 interface tun1",
      "commit",
    ],
  };
}

/** The whole tun0 definition for VyOS, as `mapectl render --target vyos` gives it, replacing a hand-made tunnel. */
function vyosTunnelDefinition(
  input: DoctorInput,
  expected: ResolvedParameters,
  name: string,
  wan: string | null,
): string[] {
  const p = expected.params;
  const br = p.rule.br === null ? "BR" : formatIpv6(p.rule.br);
  const ce = formatIpv6(p.ceAddress);
  const gw = gatewayOf(input, wan) ?? "GATEWAY";
  const w = wan ?? "eth1";
  return [
    `# ${name} was made outside VyOS's configuration (VyOS names tunnels tunN): define tun0, then remove ${name} with: sudo ip link del ${name}`,
    `set interfaces ethernet ${w} address ${ce}/128`,
    `set protocols static route6 ${br}/128 next-hop ${gw} interface ${w}`,
    "set interfaces tunnel tun0 encapsulation ipip6",
    `set interfaces tunnel tun0 source-address ${ce}`,
    `set interfaces tunnel tun0 source-interface ${w}`,
    `set interfaces tunnel tun0 remote ${br}`,
    "set interfaces tunnel tun0 parameters ipv6 encaplimit none",
    "set interfaces tunnel tun0 mtu 1460",
    `set interfaces tunnel tun0 address ${formatIpv4(p.ipv4Address)}/32`,
    "set interfaces tunnel tun0 ip adjust-mss clamp-mss-to-pmtu",
    "set protocols static route 0.0.0.0/0 interface tun0",
    "commit",
  ];
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

/** Priority of mapectl's own srcnat chain (srcnat - 1): NAT chains below it would still run first. */
const MAPECTL_SRCNAT_PRIORITY = 99;

/**
 * The NAT fix: mapectl's NAPT table (every port block, tcp, udp and icmp, the router's own traffic,
 * MSS clamping) loaded with `nft -f`. Its chain runs at srcnat - 1, before any NAT at srcnat, so
 * rules that got it wrong no longer matter; the ones in chains that would still run first are
 * deleted by handle.
 */
function natScript(
  input: DoctorInput,
  tunnel: string,
  expected: ResolvedParameters,
  wrong: readonly NatRule[],
): string[] {
  const deletes = [...new Set(wrong)]
    .filter(
      (r) =>
        r.priority < MAPECTL_SRCNAT_PRIORITY &&
        r.handle !== null &&
        r.oifname === tunnel &&
        !r.where.startsWith("ip mapectl "),
    )
    .map((r) => `nft delete rule ${r.where} handle ${String(r.handle)}`);
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
    return [...deletes, `nft -f - <<'EOF'\n${renderNftables(plan)}EOF`];
  } catch {
    return [input.reapply ?? `mapectl up${input.wan === null ? "" : ` --wan ${input.wan}`}`];
  }
}

function natFindings(input: DoctorInput, tunnel: string, expected: ResolvedParameters): Finding[] {
  const out: Finding[] = [];
  const p = expected.params;
  const v4 = formatIpv4(p.ipv4Address);
  const inSet = (port: number) => portInSet(port, p.rule.psidOffset, p.rule.psidLength, p.psid);
  const rules = input.ruleset === null ? [] : analyzeNat(input.ruleset);
  // VyOS's own NAT rules on the tunnel, by number (vyos_nat names them SRC-NAT-<n>).
  const vyosRules = [
    ...new Set(
      rules
        .filter((r) => r.oifname === tunnel)
        .map((r) => /^SRC-NAT-([0-9]+)$/.exec(r.comment ?? "")?.[1])
        .filter((n): n is string => n !== undefined),
    ),
  ];
  const vyosNat = [
    "# VyOS NAT rules take one port range and no ICMP: delete them and let mapectl own the NAPT",
    ...(vyosRules.length === 0
      ? ["# delete the source NAT rules that send traffic out of the tunnel: delete nat source rule <N>"]
      : vyosRules.map((n) => `delete nat source rule ${n}`)),
    "commit",
    "# then load mapectl's table (VyOS never touches it) now and at every boot: mapectl render --target vyos",
  ];
  // What each kind of traffic leaving the tunnel meets first: forwarded from the LAN, and the
  // router's own (no LAN source address).
  const lanTcp = coverage(rules, tunnel, "tcp", false);
  const lanUdp = coverage(rules, tunnel, "udp", false);
  const ownTcp = coverage(rules, tunnel, "tcp", true);
  const ownUdp = coverage(rules, tunnel, "udp", true);
  const icmp = coverage(rules, tunnel, "icmp", false);
  const ported = [...new Set([...lanTcp, ...lanUdp, ...ownTcp, ...ownUdp])];
  const fixFor = (wrong: readonly NatRule[]) => natScript(input, tunnel, expected, wrong);

  // Ports or addresses a BR will drop (TCP and UDP; ICMP is nat-icmp's).
  const problems = (list: readonly NatRule[], kept = "source port"): string[] => {
    const found: string[] = [];
    for (const r of list) {
      if (r.kind === "masquerade" && r.ports === null)
        found.push(`${r.where}: masquerade keeps the ${kept}, outside the port set`);
      else if (r.ports === null)
        found.push(
          `${r.where}: snat to ${r.addresses?.join(", ") ?? "?"} keeps the ${kept}, outside the port set`,
        );
      else {
        const bad = r.ports.filter(([a, b]) => !inSet(a) || !inSet(b));
        if (bad.length > 0) found.push(`${r.where}: ports ${ranges(bad)} are outside PSID ${p.psid}'s set`);
      }
      const wrongAddr = (r.addresses ?? []).filter((a) => a !== v4);
      if (wrongAddr.length > 0)
        found.push(`${r.where}: translates to ${wrongAddr.join(", ")}, the line's address is ${v4}`);
    }
    return found;
  };
  const outside = problems(ported);
  if (lanTcp.length > 0 && lanUdp.length === 0)
    outside.push(`UDP leaving through ${tunnel} is not translated at all`);
  if (lanTcp.length === 0 && ownTcp.length === 0) {
    out.push({
      id: "nat-outside-port-set",
      verdict: "fail",
      summary: `nothing translates IPv4 leaving through ${tunnel}: private source addresses and ports go to the BR, which drops them`,
      evidence: { natRules: rules.length },
      fix: fixFor(rules),
      vyosFix: vyosNat,
    });
  } else if (outside.length > 0) {
    out.push({
      id: "nat-outside-port-set",
      verdict: "fail",
      summary: `the NAT translates outside this line's port set: ${outside.join("; ")}`,
      evidence: { problems: outside },
      fix: fixFor(ported),
      vyosFix: vyosNat,
    });
  } else {
    out.push(ok("nat-outside-port-set", `every NAT target is ${v4} inside PSID ${p.psid}'s set`));
  }

  const covered = new Set<number>();
  for (const r of lanTcp)
    for (const [a, b] of r.ports ?? [])
      for (let port = a; port <= b; port++) if (inSet(port)) covered.add(port);
  if (lanTcp.length > 0) {
    const firstOnly = lanTcp.some((r) => r.firstPortOnly);
    out.push(
      covered.size >= p.portCount
        ? ok("nat-port-coverage", `the NAT uses all ${p.portCount} ports`)
        : {
            id: "nat-port-coverage",
            verdict: "fail",
            summary:
              covered.size === 0
                ? `the NAT maps into none of the ${p.portCount} ports of this line`
                : `the NAT covers ${covered.size} of the ${p.portCount} ports of this line${firstOnly ? ' (nft keeps only the first port of each range in "snat to A : numgen … map { i : lo-hi }")' : ""}: connections fail once they are used up`,
            evidence: {
              covered: covered.size,
              total: p.portCount,
              ranges: lanTcp.flatMap((r) => r.ports ?? []),
            },
            fix: fixFor(ported),
            vyosFix: vyosNat,
          },
    );
  }
  const icmpProblems = problems(icmp, "echo id");
  const icmpOk = icmp.length > 0 && icmpProblems.length === 0;
  out.push(
    icmpOk
      ? ok("nat-icmp", "ICMP echo ids are translated into the port set")
      : {
          id: "nat-icmp",
          verdict: "fail",
          summary:
            icmp.length === 0
              ? `ICMP leaving through ${tunnel} is not translated at all: the BR drops echo requests from a private address, so ping fails`
              : `ICMP is not translated into the port set (${icmpProblems.join("; ")}): the BR drops echo requests whose id is outside it, so ping fails`,
          evidence: { icmpRules: icmp.map((r) => r.where), problems: icmpProblems },
          fix: fixFor(icmp),
          vyosFix: vyosNat,
        },
  );
  const restricted = lanTcp.length > 0 && ownTcp.length === 0;
  out.push(
    restricted
      ? {
          id: "nat-source-restricted",
          verdict: "fail",
          summary: `the NAT only applies to ${lanTcp.map((r) => r.sourceMatch).join(", ")}: the router's own IPv4 traffic (DNS, NTP, updates) leaves untranslated and is dropped`,
          evidence: { sourceMatch: lanTcp.map((r) => r.sourceMatch) },
          fix: fixFor(lanTcp),
          vyosFix: [
            ...lanTcp.map((r) => {
              const n = /^SRC-NAT-([0-9]+)$/.exec(r.comment ?? "")?.[1];
              return n === undefined
                ? `# in the VyOS source NAT rule for ${r.sourceMatch ?? "the LAN"}: delete nat source rule <N> source address`
                : `delete nat source rule ${n} source address`;
            }),
            "commit",
          ],
        }
      : ok("nat-source-restricted", "the router's own traffic is translated too"),
  );
  return out;
}
