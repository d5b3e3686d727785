import type { ParameterSource } from "../provision/parameters.ts";
import type { ProvisionIo } from "../provision/provision.ts";
import { hostDhcpv6Io } from "./dhcpv6-transport.ts";
import { hostHb46ppIo } from "./hb46pp-fetch.ts";
import { systemResolvers } from "./provision-wan.ts";

export interface HostProvisionOptions {
  /** The sources that will be asked; I/O is only set up for these. */
  readonly sources: readonly ParameterSource[];
  /** The WAN interface: DHCPv6 runs on it. Without it, the DHCPv6 source is reported unavailable. */
  readonly wan?: string | undefined;
  /** The line's resolvers for HB46PP; empty or absent: /etc/resolv.conf. */
  readonly resolvers?: readonly string[] | undefined;
  readonly caFile?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

/** The real network behind provision(): what `mapectl provision`, `up` and the daemon pass to it. */
export function hostProvisionIo(options: HostProvisionOptions): ProvisionIo {
  const io: { hb46pp?: ProvisionIo["hb46pp"]; dhcpv6?: ProvisionIo["dhcpv6"] } = {};
  if (options.sources.includes("hb46pp")) {
    const given = options.resolvers ?? [];
    io.hb46pp = hostHb46ppIo({
      resolvers: given.length > 0 ? given : systemResolvers(),
      caFile: options.caFile,
      timeoutMs: options.timeoutMs,
    });
  }
  if (options.sources.includes("dhcpv6") && options.wan !== undefined) io.dhcpv6 = hostDhcpv6Io(options.wan);
  return io;
}
