import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseIpv6Prefix, type Ipv6Prefix } from "../mape/ipv6.ts";
import { ipv6FromBytes, ipv6ToBytes, maskBits } from "../provision/addresses.ts";
import { HostError } from "./errors.ts";

/**
 * The little host reading `mapectl provision` needs: the end-user prefix seen on the WAN and the
 * resolvers to ask. Deliberately simple (global addresses of one interface, resolv.conf); the full
 * reading of delegated prefixes belongs to the host layer proper.
 */

interface IpAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
  temporary?: boolean;
  deprecated?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
}

async function ipJson(args: readonly string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile("ip", [...args], { timeout: 5000 }, (err, stdout, stderr) => {
      if (err !== null) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new HostError("TOOL_MISSING", "the ip command (iproute2) is not installed"));
          return;
        }
        const text = stderr.trim();
        if (/does not exist|Cannot find device/.test(text)) {
          reject(
            new HostError("INTERFACE_MISSING", `interface ${args[args.length - 1] ?? ""} does not exist`),
          );
          return;
        }
        reject(new HostError("COMMAND_FAILED", `ip ${args.join(" ")}: ${text || err.message}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as unknown);
      } catch {
        reject(new HostError("COMMAND_FAILED", `ip ${args.join(" ")} printed something that is not JSON`));
      }
    });
  });
}

/** The prefix of an address/length, e.g. 2404:…:4100:85:d10d:200:4100/64 → 2404:…:4100::/64. */
function prefixOf(address: string, length: number): Ipv6Prefix {
  return parseIpv6Prefix(`${ipv6FromBytes(maskBits(ipv6ToBytes(address), length, 16))}/${length}`);
}

export interface WanPrefix {
  readonly prefix: Ipv6Prefix;
  /** The address it was read from, for the report. */
  readonly from: string;
}

/**
 * The end-user prefix from the WAN's global addresses: the first stable, non-ULA one with a prefix
 * length of 64 or less (an RA /64 or a delegated prefix configured on the WAN).
 */
export async function readWanPrefix(ifname: string): Promise<WanPrefix> {
  const doc = await ipJson(["-j", "-6", "addr", "show", "dev", ifname]);
  const infos: IpAddrInfo[] = Array.isArray(doc)
    ? doc.flatMap((link: { addr_info?: IpAddrInfo[] }) => link.addr_info ?? [])
    : [];
  const candidates = infos.filter(
    (a) =>
      a.family === "inet6" &&
      a.scope === "global" &&
      typeof a.local === "string" &&
      typeof a.prefixlen === "number" &&
      a.prefixlen <= 64 &&
      a.temporary !== true &&
      a.deprecated !== true &&
      a.dadfailed !== true &&
      !/^f[cd]/i.test(a.local),
  );
  const best = candidates[0];
  if (best?.local === undefined || best.prefixlen === undefined) {
    throw new HostError(
      "NO_IPV6_PREFIX",
      `${ifname} has no global IPv6 address with a /64 or shorter prefix yet; give the delegated prefix with --prefix`,
    );
  }
  return {
    prefix: prefixOf(best.local, best.prefixlen),
    from: `${best.local}/${best.prefixlen} on ${ifname}`,
  };
}

/** The nameservers of /etc/resolv.conf, when the line's own resolvers were not given. */
export function systemResolvers(path = "/etc/resolv.conf"): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // c-ares cannot use a scoped (fe80::…%if) server; such entries are skipped rather than failing.
    if (m?.[1] !== undefined && isIP(m[1]) !== 0) out.push(m[1]);
  }
  return out;
}
