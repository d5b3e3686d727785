import { queryDhcpv6, type Dhcpv6Outcome } from "../provision/dhcpv6-source.ts";
import type { ResolverChoice } from "../provision/hb46pp-flow.ts";
import type { ParameterSource } from "../provision/parameters.ts";
import type { ProvisionIo } from "../provision/provision.ts";
import { hostDhcpv6Io } from "./dhcpv6-transport.ts";
import { hostHb46ppIo } from "./hb46pp-fetch.ts";
import { systemResolvers } from "./provision-wan.ts";

export interface HostProvisionOptions {
  /** The sources that will be asked; I/O is only set up for these. */
  readonly sources: readonly ParameterSource[];
  /** The WAN interface: DHCPv6 runs on it, and HB46PP learns the line's resolvers on it. */
  readonly wan?: string | undefined;
  /** Resolvers given by the user (--resolver, the configuration): used instead of learning them. */
  readonly resolvers?: readonly string[] | undefined;
  /** Where the given resolvers came from, for the report. */
  readonly resolversFrom?: string | undefined;
  readonly caFile?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

function fromDhcpv6(outcome: Dhcpv6Outcome, wan: string): ResolverChoice {
  const from = `DHCPv6 DNS servers (option 23) on ${wan}`;
  if (outcome.dnsServers.length > 0) return { servers: outcome.dnsServers, from };
  const why = outcome.reply === null ? outcome.message : "the DHCPv6 answer named no DNS servers (option 23)";
  return { servers: [], from, problem: why };
}

/**
 * The line's resolvers for HB46PP (spec §1.2: the CE's own resolver is the provider's; a local stub
 * or a public resolver does not serve 4over6.info). Given ones win; else the DNS servers of the
 * line's DHCPv6 answer: the one the DHCPv6 source already got, or an Information-request of our
 * own. DHCPv6 rather than RA RDNSS: the kernel keeps no RDNSS that `ip` could show, hearing one
 * means a raw ICMPv6 socket and waiting up to an RA interval, and NGN IPoE lines hand DNS out by
 * DHCPv6 (RA O flag). Only without a WAN interface is /etc/resolv.conf used, and said to be.
 */
export function lineResolvers(
  options: HostProvisionOptions,
): (dhcpv6: Dhcpv6Outcome | null) => Promise<ResolverChoice> {
  return async (dhcpv6) => {
    const given = options.resolvers ?? [];
    if (given.length > 0) return { servers: given, from: options.resolversFrom ?? "--resolver" };
    const wan = options.wan;
    if (wan === undefined) {
      return {
        servers: systemResolvers(),
        from: "/etc/resolv.conf (no WAN interface given: not learned from the line)",
      };
    }
    // The DHCPv6 source's exchange is the line's answer; a second one would find the same.
    if (dhcpv6 !== null) return fromDhcpv6(dhcpv6, wan);
    const own = await queryDhcpv6(hostDhcpv6Io(wan), {
      kind: "information-request",
      maxDurationMs: options.timeoutMs ?? 5000,
    });
    return fromDhcpv6(own, wan);
  };
}

/** The real network behind provision(): what `mapectl provision`, `up` and the daemon pass to it. */
export function hostProvisionIo(options: HostProvisionOptions): ProvisionIo {
  const io: {
    hb46pp?: ProvisionIo["hb46pp"];
    dhcpv6?: ProvisionIo["dhcpv6"];
    hb46ppResolvers?: ProvisionIo["hb46ppResolvers"];
  } = {};
  if (options.sources.includes("hb46pp")) {
    io.hb46pp = hostHb46ppIo({ caFile: options.caFile, timeoutMs: options.timeoutMs });
    io.hb46ppResolvers = lineResolvers(options);
  }
  if (options.sources.includes("dhcpv6") && options.wan !== undefined) io.dhcpv6 = hostDhcpv6Io(options.wan);
  return io;
}
