import { shellCommand } from "../../render/shell.ts";
import { type CheckContext, ok } from "../context.ts";
import type { Finding } from "../findings.ts";
import { basesOf, readRuleset, walkBase, type Packet, type Ruleset, type Walk } from "../ruleset-walk.ts";
import { VYOS_STATE_POLICY } from "./conntrack.ts";

/** The first chain of a hook that drops the packet: a drop in any base chain is final. */
function firstDrop(rs: Ruleset, families: readonly string[], hook: string, packet: Packet): Walk | null {
  for (const base of basesOf(rs, families, [hook])) {
    const walk = walkBase(rs, base, packet);
    if (walk.verdict === "drop") return walk;
  }
  return null;
}

const isVyosFilter = (w: Walk) => w.chain.table === "vyos_filter";

function where(w: Walk): string {
  return `${w.decidedIn}${w.comment === null ? "" : ` ("${w.comment}")`}`;
}

/** A free VyOS rule number before the chain's first rule (VyOS runs rules in number order). */
function ruleNumberBefore(rs: Ruleset, w: Walk): string | null {
  const numbers = (rs.rules.get(`${w.chain.family} ${w.chain.table}/${w.chain.name}`) ?? [])
    .map((r) => /-filter-([0-9]+)$/.exec(typeof r.comment === "string" ? r.comment : "")?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  if (numbers.length === 0) return "10";
  const first = Math.min(...numbers);
  return first > 1 ? String(Math.max(1, first - 5)) : null;
}

interface Drop {
  readonly problem: string;
  readonly evidence: Record<string, unknown>;
  readonly fix: string[];
  readonly vyosFix: string[];
  /** Only traffic that starts from the BR's side is lost. */
  readonly partial: boolean;
}

function forwardDrop(ctx: CheckContext, rs: Ruleset): Drop | null {
  const drop = firstDrop(rs, ["ip", "inet"], "forward", { iifname: ctx.name, ctState: "established" });
  if (drop === null) return null;
  return {
    problem: `${where(drop)} drops the replies coming back from ${ctx.name} (nothing before it accepts established or related traffic from the tunnel)`,
    evidence: { forward: { chain: drop.decidedIn, handle: drop.handle, comment: drop.comment } },
    fix: [
      shellCommand([
        "nft",
        "insert",
        "rule",
        drop.chain.family,
        drop.chain.table,
        drop.chain.name,
        ...`iifname ${ctx.name} ct state established,related accept`.split(" "),
      ]),
    ],
    vyosFix: isVyosFilter(drop)
      ? VYOS_STATE_POLICY
      : [`# ${drop.decidedIn} is not VyOS's: accept established and related traffic from ${ctx.name} there`],
    partial: false,
  };
}

function brInputDrop(ctx: CheckContext, rs: Ruleset): Drop | null {
  const br = ctx.tunnel.remote;
  if (br === null) return null;
  const fromBr: Packet = { saddr6: br, l4proto: 4, ...(ctx.wan === null ? {} : { iifname: ctx.wan }) };
  const fresh = firstDrop(rs, ["ip6", "inet"], "input", { ...fromBr, ctState: "new" });
  if (fresh === null) return null;
  const established = firstDrop(rs, ["ip6", "inet"], "input", { ...fromBr, ctState: "established" });
  const n = isVyosFilter(fresh) ? ruleNumberBefore(rs, fresh) : null;
  const path = ["firewall", "ipv6", "input", "filter", "rule", n ?? "N"].join(" ");
  return {
    problem:
      established === null
        ? `${where(fresh)} drops the BR's IPv4-in-IPv6 packets (protocol 4 from ${br}) that are not part of a tracked flow: after ten idle minutes the line's conntrack entry is gone and traffic the BR starts (inbound connections, servers that speak first) is lost`
        : `${where(fresh)} drops the BR's IPv4-in-IPv6 packets (protocol 4 from ${br}) before they are decapsulated: nothing comes back through ${ctx.name}`,
    evidence: {
      input: { chain: fresh.decidedIn, handle: fresh.handle, comment: fresh.comment },
      establishedAccepted: established === null,
    },
    fix: [
      shellCommand([
        "nft",
        "insert",
        "rule",
        fresh.chain.family,
        fresh.chain.table,
        fresh.chain.name,
        ...`ip6 saddr ${br} meta l4proto 4 accept`.split(" "),
      ]),
    ],
    vyosFix: isVyosFilter(fresh)
      ? [
          ...(n === null ? ["# N: a free rule number below the filter's first rule"] : []),
          `set ${path} action accept`,
          `set ${path} source address ${br}`,
          `set ${path} protocol 4`,
        ]
      : [`# ${fresh.decidedIn} is not VyOS's: accept protocol 4 from ${br} there`],
    partial: established === null,
  };
}

/**
 * A filter of VyOS's (or anyone's) that drops what the tunnel needs: a drop in one base chain is
 * final whatever mapectl's own chains accept at the same hook.
 */
export function firewallDrops(ctx: CheckContext): Finding | null {
  if (ctx.input.ruleset === null) return null;
  const rs = readRuleset(ctx.input.ruleset);
  const drops = [forwardDrop(ctx, rs), brInputDrop(ctx, rs)].filter((d): d is Drop => d !== null);
  if (drops.length === 0)
    return ok("firewall-drops", `no filter drops replies from ${ctx.name} or the BR's packets`);
  return {
    id: "firewall-drops",
    verdict: drops.every((d) => d.partial) ? "warn" : "fail",
    summary: drops.map((d) => d.problem).join("; "),
    evidence: Object.assign({}, ...drops.map((d) => d.evidence)) as Record<string, unknown>,
    fix: drops.flatMap((d) => d.fix),
    vyosFix: [...drops.flatMap((d) => d.vyosFix), "commit"],
  };
}
