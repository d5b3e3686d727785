import { CE, NS } from "./addresses.ts";
import type { Guest } from "./guest.ts";

interface IpLink {
  ifname: string;
  linkinfo?: { info_kind?: string };
}

/**
 * Puts the CE back to how it booted: no tunnels, no global address on the WAN, no nftables, no
 * conntrack state (old NAT tuples would steer the next scenario), the RA default route back. The
 * DHCPv6 client and its delegated prefix stay.
 */
export async function resetCe(guest: Guest, ns: "ce" | "ce2" = NS.ce): Promise<void> {
  const links = JSON.parse(await guest.run(ns, ["ip", "-j", "-d", "link", "show"])) as IpLink[];
  const lines = links
    .filter(
      (l) =>
        ["ip6tnl", "ipip6", "ipip", "sit"].includes(l.linkinfo?.info_kind ?? "") &&
        !/^(ip6tnl0|sit0|tunl0)$/.test(l.ifname),
    )
    .map((l) => `link del ${l.ifname}`);
  if (lines.length > 0) {
    const batch = `/run/mapectl-lab/reset-${ns}.batch`;
    await guest.writeFile(batch, lines.join("\n") + "\n");
    await guest.exec(ns, ["ip", "-force", "-batch", batch]);
  }
  await guest.exec(ns, ["ip", "-6", "addr", "flush", "dev", CE.wan, "scope", "global"]);
  await guest.exec(ns, ["ip", "-6", "route", "flush", "dev", CE.wan, "proto", "boot"]);
  await guest.exec(ns, ["sysctl", "-q", "-w", `net.ipv6.conf.${CE.wan}.accept_ra_defrtr=1`]);
  await guest.exec(ns, ["nft", "flush", "ruleset"]);
  await guest.exec(ns, ["conntrack", "-F"]);
}
