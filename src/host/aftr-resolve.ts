import { DsLiteError, type AftrParameters } from "../provision/dslite.ts";
import { codeOf, makeResolver } from "./hb46pp-fetch.ts";
import { systemResolvers } from "./provision-wan.ts";

export type ResolvedAftr = AftrParameters & { readonly address: string };

const WHY: Readonly<Record<string, string>> = {
  ENOTFOUND: "the name does not exist",
  ENODATA: "the name has no AAAA record",
  ETIMEOUT: "no answer",
  ECANCELLED: "no answer",
  ECONNREFUSED: "the resolver refused",
};

/**
 * The AFTR's IPv6 address: as given, or its name's first AAAA record asked of the line's resolvers
 * (the system's when none are configured), within one deadline. A name that does not resolve is a
 * DsLiteError naming the name, the resolvers and why.
 */
export async function resolveAftr(
  aftr: AftrParameters,
  resolvers: readonly string[],
  timeoutMs = 5000,
): Promise<ResolvedAftr> {
  if (aftr.address !== null) return { ...aftr, address: aftr.address };
  const name = aftr.name ?? "";
  const servers = resolvers.length > 0 ? resolvers : systemResolvers();
  if (servers.length === 0) {
    throw new DsLiteError(
      `the AFTR name ${name} (from ${aftr.from}) cannot be resolved: no DNS resolver (give --resolver or resolvers = […] in the configuration, or --aftr ADDRESS)`,
    );
  }
  const resolver = makeResolver(servers, timeoutMs);
  const deadline = setTimeout(() => {
    resolver.cancel();
  }, timeoutMs);
  try {
    const [first] = await resolver.resolve6(name);
    if (first === undefined) throw Object.assign(new Error("no AAAA record"), { code: "ENODATA" });
    return { ...aftr, address: first };
  } catch (err) {
    const code = codeOf(err);
    const why = WHY[code] ?? (code || (err as Error).message);
    throw new DsLiteError(
      `the AFTR name ${name} (from ${aftr.from}) does not resolve to an IPv6 address via ${servers.join(", ")} within ${timeoutMs / 1000} s: ${why} (give --aftr ADDRESS to use an address)`,
    );
  } finally {
    clearTimeout(deadline);
  }
}
