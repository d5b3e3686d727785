import { ipv6Mask, parseIpv6, parseIpv6Prefix } from "../../mape/ipv6.ts";
import type { ObservedLink } from "../../plan/observed.ts";
import {
  ip4ip6Params,
  ip6tnl,
  ipv4DefaultDev as defaultRoute,
  linkDel,
  linkSet,
} from "../../render/iproute2.ts";
import { shellCommand } from "../../render/shell.ts";
import { VYOS_TUNNEL_NAME, vyosIpv4Default, vyosLine, vyosTunnelPath } from "../../render/vyos.ts";
import { MAX_TUNNEL_MTU } from "../../plan/plan.ts";
import { findTunnel, ipv4DefaultDev, same6 } from "../context.ts";
import type { Finding } from "../findings.ts";
import { reapplyCommand, WAN_PLACEHOLDER } from "../fixes.ts";
import type { DoctorInput } from "../observation.ts";

/** VyOS's name for the DS-Lite tunnel: tun0 stays the MAP-E tunnel's until it is removed. */
const VYOS_DS_LITE_TUNNEL = "tun1";

function notMapeError(input: DoctorInput) {
  return input.expected !== null && "error" in input.expected ? input.expected : null;
}

/** A DS-Lite tunnel to the line's AFTR that already carries IPv4: then there is nothing to diagnose. */
export function dsLiteCarrier(input: DoctorInput): ObservedLink | null {
  const line = notMapeError(input)?.line ?? null;
  const aftr = line?.aftr ?? null;
  if (line?.kind !== "ds-lite" || aftr === null) return null;
  const tunnel = input.host.links.find((l) => l.kind === "ip6tnl" && same6(l.tunnel?.remote ?? null, aftr));
  return tunnel !== undefined && ipv4DefaultDev(input.host) === tunnel.name ? tunnel : null;
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
  const wan = input.wan ?? WAN_PLACEHOLDER;
  const mape = findTunnel(input.host, input.preferredTunnel);
  const own = input.host.addresses.filter(
    (a) =>
      a.family === 6 && a.scope === "global" && !a.tentative && !a.dadFailed && inPrefix(a.address, prefix),
  );
  const b4 = (own.find((a) => a.dev === input.wan) ?? own[0])?.address ?? null;
  const name = mape?.name === "dslite" ? "dslite0" : "dslite";
  const tun1 = (...words: string[]) => vyosLine("set", ...vyosTunnelPath(VYOS_DS_LITE_TUNNEL), ...words);
  return {
    fix: [
      ...(mape === null ? [] : [input.reapply != null ? "mapectl down" : shellCommand(linkDel(mape.name))]),
      ...(b4 === null
        ? [`# B4: give ${wan} an address of ${prefix} first (ip -6 addr add …/128 dev ${wan})`]
        : []),
      shellCommand(ip6tnl("add", name, ip4ip6Params(b4 ?? "B4", aftr, wan))),
      shellCommand(linkSet(name, ["mtu", String(MAX_TUNNEL_MTU), "up"])),
      shellCommand(defaultRoute("replace", name)),
    ],
    vyosFix: [
      ...(mape === null || VYOS_TUNNEL_NAME.test(mape.name)
        ? []
        : [`# remove the hand-made ${mape.name}: sudo ip link del ${mape.name}`]),
      tun1("encapsulation", "ipip6"),
      tun1("source-address", b4 ?? "B4"),
      tun1("remote", aftr),
      tun1("parameters", "ipv6", "encaplimit", "none"),
      tun1("mtu", String(MAX_TUNNEL_MTU)),
      vyosIpv4Default(VYOS_DS_LITE_TUNNEL),
      "commit",
    ],
  };
}

/** The line is not MAP-E (DS-Lite, native IPv4), or has no prefix to tell. */
export function notMapeLine(input: DoctorInput, carrier: ObservedLink | null): Finding | null {
  const error = notMapeError(input);
  if (error === null) return null;
  const line = error.line ?? null;
  const aftr = line?.aftr ?? null;
  if (carrier !== null) {
    return {
      id: "not-mape-line",
      verdict: "warn",
      summary: `${error.error}; ${carrier.name} already goes to the AFTR and carries IPv4: nothing for MAP-E to do here`,
      evidence: { wan: input.wan, tunnel: carrier.name, aftr },
      fix: [],
    };
  }
  return {
    id: "not-mape-line",
    verdict: error.notMape ? "fail" : "warn",
    summary: error.error,
    evidence: { wan: input.wan, line },
    ...(line?.kind === "ds-lite" && aftr !== null
      ? dsLiteFix(input, line.prefix, aftr)
      : {
          fix: error.notMape
            ? [
                "# there is no MAP-E on this line: ask the ISP which IPv4 service it provides (or whether the IPv6 option is active yet)",
              ]
            : [],
        }),
  };
}

/** No MAP-E tunnel at all; a line that is not MAP-E needs none, one without a prefix yet still does. */
export function tunnelMissing(input: DoctorInput): Finding | null {
  if (notMapeError(input)?.notMape === true) return null;
  return {
    id: "tunnel-missing",
    verdict: "fail",
    summary: "there is no MAP-E tunnel (ip6tnl in ip4ip6 mode) on this host",
    evidence: { ip6tnlLinks: input.host.links.filter((l) => l.kind === "ip6tnl").map((l) => l.name) },
    fix: [reapplyCommand(input)],
  };
}
