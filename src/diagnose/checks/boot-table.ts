import { formatIpv4 } from "../../mape/ipv4.ts";
import type { PortRange } from "../../mape/port-set.ts";
import { shellCommand } from "../../render/shell.ts";
import { type CheckContext, ok } from "../context.ts";
import type { Finding } from "../findings.ts";
import { analyzeNat, foldPorts, foldedRule, portFolds } from "../nat-analysis.ts";

/** mapectl's NAPT table in the running ruleset and in the files it renders. */
const TABLE = "ip mapectl";

/** What decides where a NAPT sends traffic: the address and the port ranges, and the tunnel. */
interface Napt {
  readonly address: string | null;
  readonly ports: readonly PortRange[];
  readonly tunnel: string | null;
}

const describe = (n: Napt) =>
  `${n.address ?? "no address"}${n.ports.length === 0 ? "" : ` ports ${n.ports.map(([a, b]) => `${a}-${b}`).join(",")}`.slice(0, 90)}${n.tunnel === null ? "" : ` via ${n.tunnel}`}`;

const sortedRanges = (list: readonly PortRange[]) =>
  [...list].sort((a, b) => a[0] - b[0]).map(([a, b]) => `${a}-${b}`);

function same(a: Napt, b: Napt, compareTunnel: boolean): boolean {
  return (
    a.address === b.address &&
    sortedRanges(a.ports).join(",") === sortedRanges(b.ports).join(",") &&
    (!compareTunnel || a.tunnel === b.tunnel)
  );
}

/**
 * The fold a table file applies after NAT (the fold allocator): the map a `… sport set … sport map
 * @name` statement names, as allocated port → port on the wire.
 */
function foldOfFile(text: string): ReadonlyMap<number, number> | undefined {
  const name = /sport set [a-z]+ sport map @([A-Za-z0-9_-]+)/.exec(text)?.[1];
  if (name === undefined) return undefined;
  const body = new RegExp(`map ${name} \\{[^}]*elements = \\{([^}]*)\\}`).exec(text)?.[1];
  if (body === undefined) return undefined;
  return new Map([...body.matchAll(/([0-9]+) : ([0-9]+)/g)].map((m) => [Number(m[1]), Number(m[2])]));
}

/** The NAPT a table file loads, read from mapectl's own rendering (renderNaptTable). */
export function naptOfFile(text: string): Napt {
  const setPorts = [...text.matchAll(/([0-9.]+) \. ([0-9]+)-([0-9]+)/g)].map((m): PortRange => [
    Number(m[2]),
    Number(m[3]),
  ]);
  // the fold allocator: one range the kernel allocates from, mapped onto the set after NAT
  const range = /snat ip to [0-9.]+:([0-9]+)-([0-9]+)/.exec(text);
  const allocated: PortRange[] = range === null ? [] : [[Number(range[1]), Number(range[2])]];
  const ports = setPorts.length > 0 ? setPorts : foldPorts(allocated, foldOfFile(text));
  const address =
    /([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+) \. [0-9]+-/.exec(text)?.[1] ??
    /snat ip to ([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)/.exec(text)?.[1] ??
    null;
  const tunnel = /oifname "([^"]+)"/.exec(text)?.[1] ?? null;
  return { address, ports, tunnel };
}

function naptOfRuleset(ruleset: unknown): Napt | null {
  const rules = analyzeNat(ruleset).filter((r) => r.where.startsWith(`${TABLE} `));
  if (rules.length === 0) return null;
  const ported = rules.filter((r) => r.ports !== null);
  const tunnel = rules.find((r) => r.oifname !== null)?.oifname ?? null;
  // ports on the wire: through the fold mapectl's table applies after NAT, if it has one
  const fold = tunnel === null ? undefined : portFolds(ruleset, tunnel).tcp;
  return {
    address: rules.flatMap((r) => r.addresses ?? [])[0] ?? null,
    ports: ported.flatMap((r) => foldedRule(r, fold).ports ?? []),
    tunnel,
  };
}

/**
 * The table file the boot hook loads must be the NAPT of the current prefix: after a reboot it is
 * the only NAPT there is until the daemon runs (and on a VyOS without the daemon, the only one).
 */
export function bootTableStale(ctx: CheckContext): Finding | null {
  const boot = ctx.input.bootTable ?? null;
  if (boot === null) return null;
  const fixLines = [
    "# write the table of the current prefix and load it: render puts it at its path below the folder",
    shellCommand([
      "mapectl",
      "render",
      "--target",
      "vyos",
      ...(ctx.wan === null ? [] : ["--wan", ctx.wan]),
      "--output-dir",
      "/tmp/mapectl-render",
    ]),
    shellCommand(["sudo", "install", "-m", "644", `/tmp/mapectl-render${boot.path}`, boot.path]),
    shellCommand(["sudo", "nft", "-f", boot.path]),
  ];
  const fail = (summary: string, evidence: Record<string, unknown>): Finding => ({
    id: "boot-table-stale",
    verdict: "fail",
    summary,
    evidence: { path: boot.path, ...evidence },
    fix: fixLines,
    vyosFix: ["# from op mode:", ...fixLines],
  });
  if (boot.text === null)
    return fail(
      `the boot hook loads ${boot.path}, which does not exist: after a reboot there is no NAPT`,
      {},
    );
  const file = naptOfFile(boot.text);
  const running = ctx.input.ruleset === null ? null : naptOfRuleset(ctx.input.ruleset);
  const p = ctx.expected?.params;
  const planned: Napt | null =
    p === undefined ? null : { address: formatIpv4(p.ipv4Address), ports: p.portSets, tunnel: null };
  const evidence = {
    file: describe(file),
    running: running === null ? null : describe(running),
    plan: planned === null ? null : describe(planned),
  };
  if (planned !== null && !same(file, planned, false))
    return fail(
      `${boot.path}, which the boot hook loads, is the NAPT of another prefix (${describe(file)}; this prefix gives ${describe(planned)}): after a reboot IPv4 leaves from addresses and ports the BR drops`,
      evidence,
    );
  if (running !== null && !same(file, running, true))
    return fail(
      `${boot.path}, which the boot hook loads, differs from the running ${TABLE} table (${describe(file)} against ${describe(running)}): a reboot would bring back another NAPT`,
      evidence,
    );
  return ok("boot-table-stale", `${boot.path} is the NAPT of this prefix (${describe(file)})`, evidence);
}
