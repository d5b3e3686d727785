import {
  B4_ADDRESS,
  B4_PREFIX_LENGTH,
  WAN_ADDRESS_PLACEHOLDER,
  type DsLitePlan,
} from "../../plan/dslite-plan.ts";
import type { HostState, ObservedLink } from "../../plan/observed.ts";
import {
  brRouteVia,
  forwarding,
  ip4ip6Params,
  ip6tnl,
  ipv4Address,
  ipv4Default,
  linkSet,
  wanAddressAdd,
} from "../../render/iproute2.ts";
import { shellCommand } from "../../render/shell.ts";
import { ipv4DefaultDev, ok, same6 } from "../context.ts";
import { sortFindings, type Finding } from "../findings.ts";
import { analyzeNat, hasMssClamp } from "../nat-analysis.ts";
import type { RouteLookup } from "../observation.ts";
import { mssClampFix } from "./tunnel.ts";

/** What the B4 should look like: from the applied plan, or the one built now for this host. */
export interface DsLiteExpectation {
  readonly tunnel: string;
  readonly wan: string | null;
  readonly lan: readonly string[];
  readonly mtu: number;
  readonly metric: number;
  /** The WAN's IPv6 router, for the AFTR's route; null when unknown. */
  readonly gateway: string | null;
  /** The tunnel's IPv6 source; null when no plan could be made. */
  readonly local: string | null;
  /** The source is a /128 of the delegated prefix mapectl puts on the WAN (a PD-only line). */
  readonly addsSource: boolean;
}

/** The AFTR as doctor found it now. */
export interface AftrLookup {
  readonly name: string | null;
  /** Where the AFTR came from (hb46pp, dhcpv6, tables, configuration). */
  readonly from: string;
  /** The address the tunnel must lead to now (the name's AAAA, or the address given); null: unknown. */
  readonly address: string | null;
  /** Why the name did not resolve, or why no AFTR is known; null when it is known. */
  readonly problem: string | null;
}

/** What doctor looked at for a DS-Lite line; pure data. */
export interface DsLiteDoctorInput {
  readonly host: HostState;
  /** `nft -j list ruleset`, null when it could not be read. */
  readonly ruleset: unknown;
  readonly expect: DsLiteExpectation;
  readonly aftr: AftrLookup;
  /** `ip -6 route get <AFTR>`, null when there is no route (or no address to ask for). */
  readonly aftrRoute: RouteLookup | null;
  /** The command that applies the whole plan again (`mapectl up …`). */
  readonly reapply: string;
}

/** The expectation a plan gives (a plan built away from the router has no usable source). */
export function expectationOf(plan: DsLitePlan): DsLiteExpectation {
  return {
    tunnel: plan.tunnel.name,
    wan: plan.wan,
    lan: plan.lan,
    mtu: plan.tunnel.mtu,
    metric: plan.defaultRouteMetric,
    gateway: plan.gateway,
    local: plan.tunnel.local === WAN_ADDRESS_PLACEHOLDER ? null : plan.tunnel.local,
    addsSource: plan.addsSource === true,
  };
}

function aftrName(input: DsLiteDoctorInput): Finding {
  const { aftr } = input;
  const what = aftr.name ?? aftr.address ?? "the AFTR";
  if (aftr.problem === null) {
    return ok(
      "dslite.aftr-name-unresolved",
      aftr.name === null ? `the AFTR is given as ${what}` : `${aftr.name} resolves to ${aftr.address ?? "?"}`,
      { aftr },
    );
  }
  return {
    id: "dslite.aftr-name-unresolved",
    verdict: "fail",
    summary: `${aftr.problem}: without the AFTR's address the B4 has nowhere to send IPv4`,
    evidence: { aftr },
    fix: [
      aftr.name === null
        ? "# name the AFTR: --aftr NAME|ADDRESS (aftr = … in the configuration), or check the line's HB46PP/DHCPv6 answer"
        : `# the line's DNS must answer AAAA for ${aftr.name}; else give its address with --aftr ADDRESS, then:`,
      input.reapply,
    ],
  };
}

function aftrReachable(input: DsLiteDoctorInput): Finding | null {
  const address = input.aftr.address;
  if (address === null) return null;
  const route = input.aftrRoute;
  const { tunnel, wan, gateway } = input.expect;
  if (route !== null && route.dev !== tunnel)
    return ok("dslite.aftr-unreachable", `the AFTR ${address} has a route`, { route });
  return {
    id: "dslite.aftr-unreachable",
    verdict: "fail",
    summary:
      route === null
        ? `there is no IPv6 route to the AFTR ${address}: nothing the B4 sends can reach it`
        : `the route to the AFTR ${address} goes into the tunnel ${tunnel} itself: the softwire loops`,
    evidence: { aftr: address, route },
    fix:
      gateway !== null && wan !== null
        ? [shellCommand(brRouteVia("replace", address, gateway, wan))]
        : [`# the WAN needs its IPv6 default route (the line's Router Advertisement), then:`, input.reapply],
  };
}

function isSoftwire(link: ObservedLink | undefined): link is ObservedLink & { tunnel: object } {
  const mode = link?.tunnel?.mode;
  return link?.kind === "ip6tnl" && (mode === "ipip6" || mode === "ip4ip6" || mode === "any");
}

/** The tunnel's ends: the AFTR it leads to now, the B4's source, no encapsulation limit. */
function tunnelEnds(input: DsLiteDoctorInput, link: ObservedLink): Finding {
  const t = link.tunnel;
  const { expect, aftr } = input;
  const problems = [
    ...(aftr.address !== null && !same6(t?.remote ?? null, aftr.address)
      ? [
          `leads to ${t?.remote ?? "?"}, not the AFTR ${aftr.address}${aftr.name === null ? "" : ` (${aftr.name})`}`,
        ]
      : []),
    ...(expect.local !== null && !same6(t?.local ?? null, expect.local)
      ? [`leaves from ${t?.local ?? "?"}, not the B4's address ${expect.local}`]
      : []),
    ...(t?.encapLimit != null && t.encapLimit !== "none"
      ? [`adds an encapsulation-limit option (${String(t.encapLimit)}) the plan does not`]
      : []),
  ];
  if (problems.length === 0)
    return ok("dslite.tunnel-mismatch", `${link.name} leads from ${t?.local ?? "?"} to ${t?.remote ?? "?"}`);
  const local = expect.local ?? t?.local ?? null;
  const remote = aftr.address ?? t?.remote ?? null;
  return {
    id: "dslite.tunnel-mismatch",
    verdict: "fail",
    summary: `the tunnel ${link.name} ${problems.join("; ")}`,
    evidence: { tunnel: t, expectedLocal: expect.local, expectedRemote: aftr.address },
    fix:
      local === null || remote === null
        ? [input.reapply]
        : [shellCommand(ip6tnl("change", link.name, ip4ip6Params(local, remote, expect.wan)))],
  };
}

function tunnelUp(input: DsLiteDoctorInput, link: ObservedLink): Finding {
  const { tunnel, metric } = input.expect;
  if (link.up) return ok("dslite.tunnel-down", `${tunnel} is up`);
  return {
    id: "dslite.tunnel-down",
    verdict: "fail",
    summary: `the tunnel ${tunnel} is down: the kernel dropped the IPv4 routes through it`,
    evidence: { tunnel },
    // taking a link down removes its routes; bringing it up does not put them back
    fix: [shellCommand(linkSet(tunnel, ["up"])), shellCommand(ipv4Default("add", tunnel, metric))],
  };
}

/** 192.0.0.2 on the tunnel and, on a PD-only line, the B4's /128 source on the WAN. */
function b4Address(input: DsLiteDoctorInput): Finding {
  const { host, expect } = input;
  const onTunnel = host.addresses.some(
    (a) => a.family === 4 && a.dev === expect.tunnel && a.address === B4_ADDRESS,
  );
  const source = expect.addsSource ? expect.local : null;
  const sourceThere =
    source === null ||
    host.addresses.some((a) => a.family === 6 && a.dev === expect.wan && same6(a.address, source));
  if (onTunnel && sourceThere)
    return ok("dslite.b4-address-missing", `${B4_ADDRESS} is on ${expect.tunnel}`, { source });
  const fix: string[] = [];
  const problems: string[] = [];
  if (!onTunnel) {
    problems.push(
      `the B4 address ${B4_ADDRESS} is not on ${expect.tunnel}: the router's own IPv4 has no source`,
    );
    fix.push(shellCommand(ipv4Address("add", B4_ADDRESS, B4_PREFIX_LENGTH, expect.tunnel)));
    // the kernel drops a link's IPv4 routes with its last IPv4 address; adding it does not restore them
    if (!hasDefaultThrough(host, expect.tunnel))
      fix.push(shellCommand(ipv4Default("add", expect.tunnel, expect.metric)));
  }
  if (!sourceThere) {
    problems.push(
      `the B4's IPv6 source ${source} is not on ${expect.wan ?? "the WAN"}: the tunnel has no address to leave from`,
    );
    fix.push(expect.wan === null ? input.reapply : shellCommand(wanAddressAdd(source, expect.wan, true)));
  }
  return {
    id: "dslite.b4-address-missing",
    verdict: "fail",
    summary: problems.join("; "),
    evidence: { tunnel: expect.tunnel, b4: B4_ADDRESS, source, onTunnel, sourceThere },
    fix,
  };
}

function hasDefaultThrough(host: HostState, dev: string): boolean {
  return host.routes.some(
    (r) => r.family === 4 && (r.dst === "default" || r.dst === "0.0.0.0/0") && r.dev === dev,
  );
}

function defaultRoute(input: DsLiteDoctorInput): Finding {
  const { host, expect } = input;
  const dev = ipv4DefaultDev(host);
  if (dev === expect.tunnel) return ok("dslite.default-route-missing", `IPv4 default through ${dev}`);
  const ours = hasDefaultThrough(host, expect.tunnel);
  return {
    id: "dslite.default-route-missing",
    verdict: "fail",
    summary:
      dev === null
        ? `there is no IPv4 default route: nothing goes into ${expect.tunnel}`
        : `the IPv4 default route goes through ${dev}${ours ? ` (ahead of the one through ${expect.tunnel})` : ""}, not ${expect.tunnel}`,
    evidence: { defaultDev: dev, tunnel: expect.tunnel },
    fix: [
      ...(dev === null
        ? []
        : [
            `# remove the other default first: ${shellCommand(["ip", "-4", "route", "del", "default", "dev", dev])}`,
          ]),
      ...(ours ? [] : [shellCommand(ipv4Default("add", expect.tunnel, expect.metric))]),
    ],
  };
}

function ipv4Forwarding(input: DsLiteDoctorInput): Finding | null {
  const { host, expect } = input;
  if (expect.lan.length === 0 || host.ipv4Forwarding === null) return null;
  if (host.ipv4Forwarding) return ok("dslite.ipv4-forwarding", "IPv4 forwarding is on");
  return {
    id: "dslite.ipv4-forwarding",
    verdict: "fail",
    summary: `IPv4 forwarding is off: the LAN (${expect.lan.join(", ")}) cannot reach the tunnel`,
    evidence: { ipv4Forwarding: false },
    fix: [shellCommand(forwarding(true))],
  };
}

function mtuMss(input: DsLiteDoctorInput, link: ObservedLink): Finding {
  const { tunnel, mtu } = input.expect;
  const clamp = input.ruleset !== null && hasMssClamp(input.ruleset, tunnel);
  const tooBig = link.mtu > mtu;
  if (!tooBig && clamp) return ok("dslite.mtu-mss", `MTU ${link.mtu}, TCP MSS clamped`);
  const problems = [
    ...(tooBig ? [`the tunnel MTU is ${link.mtu}, above the plan's ${mtu}`] : []),
    ...(clamp ? [] : [`no rule clamps the TCP MSS of SYNs leaving through ${tunnel}`]),
  ];
  return {
    id: "dslite.mtu-mss",
    verdict: "fail",
    summary: `${problems.join("; ")}: full-size TCP stalls where PMTU discovery is blocked`,
    evidence: { mtu: link.mtu, planMtu: mtu, mssClamp: clamp },
    fix: [
      ...(tooBig ? [shellCommand(linkSet(tunnel, ["mtu", String(mtu)]))] : []),
      ...(clamp ? [] : mssClampFix(tunnel)),
    ],
  };
}

/** RFC 6333 §6.6: the AFTR translates; a B4 that translates too makes double NAT (warn). */
function natOnRouter(input: DsLiteDoctorInput): Finding | null {
  if (input.ruleset === null) return null;
  const { tunnel } = input.expect;
  const rules = analyzeNat(input.ruleset).filter((r) => r.oifname === null || r.oifname === tunnel);
  if (rules.length === 0) return ok("dslite.nat-on-router", `no NAT toward ${tunnel}: the AFTR translates`);
  const where = [...new Set(rules.map((r) => `${r.kind} in ${r.where}`))];
  return {
    id: "dslite.nat-on-router",
    verdict: "warn",
    summary: `IPv4 leaving through ${tunnel} is translated on this router (${where.join(", ")}): DS-Lite's B4 must not NAT, the AFTR does; two NATs break what the AFTR offers per host`,
    evidence: { rules },
    fix: rules.map((r) =>
      r.handle === null
        ? `# remove the ${r.kind} rule in ${r.where}${r.comment === null ? "" : ` (${r.comment})`}`
        : `nft delete rule ${r.where} handle ${String(r.handle)}`,
    ),
  };
}

/** Every DS-Lite check, failures first in the order of CHECK_IDS (the most likely cause first). */
export function dsLiteChecks(input: DsLiteDoctorInput): Finding[] {
  const link = input.host.links.find((l) => l.name === input.expect.tunnel);
  const found: (Finding | null)[] = [aftrName(input), aftrReachable(input), ipv4Forwarding(input)];
  if (isSoftwire(link)) {
    found.push(
      ok("dslite.tunnel-missing", `${link.name} is an ip4ip6 tunnel`),
      tunnelEnds(input, link),
      tunnelUp(input, link),
      b4Address(input),
      defaultRoute(input),
      mtuMss(input, link),
    );
  } else {
    // the address, the route and the MTU all live on the tunnel: one finding says it
    found.push({
      id: "dslite.tunnel-missing",
      verdict: "fail",
      summary:
        link === undefined
          ? `there is no ip4ip6 tunnel ${input.expect.tunnel} to the AFTR`
          : `${input.expect.tunnel} is not an ip4ip6 tunnel (it is ${link.kind ?? "a plain link"})`,
      evidence: { tunnel: link ?? null },
      fix: [input.reapply],
    });
  }
  found.push(natOnRouter(input));
  return sortFindings(found.filter((f) => f !== null));
}
