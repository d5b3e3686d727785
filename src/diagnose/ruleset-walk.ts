import { parseIpv6 } from "../mape/ipv6.ts";

/**
 * What one kind of packet meets in a live ruleset (`nft -j list ruleset`): each base chain of a hook
 * walked rule by rule, jumps followed, until a verdict. A rule counts as matching only when every
 * match it has is one this reader understands and the packet satisfies; any other match is taken as
 * not matching, so a rule is never credited with an accept it might not give.
 */
export interface Packet {
  readonly iifname?: string;
  readonly oifname?: string;
  /** The source address (IPv6 here: the BR's packets). */
  readonly saddr6?: string;
  /** The IP protocol number (4: IPv4 in IPv6). */
  readonly l4proto?: number;
  readonly ctState?: "new" | "established" | "related" | "untracked";
}

export interface BaseChain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly hook: string;
  readonly priority: number;
  readonly policy: string;
}

export interface Walk {
  readonly verdict: "accept" | "drop" | "notrack";
  /** The rule that decided (its table, chain, handle and comment), or the chain's policy. */
  readonly chain: BaseChain;
  readonly decidedIn: string;
  readonly handle: number | null;
  readonly comment: string | null;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, ipencap: 4, ipip: 4, ipv6: 41 };

export interface Ruleset {
  readonly bases: BaseChain[];
  readonly rules: Map<string, Json[]>;
}

const key = (family: string, table: string, chain: string) => `${family} ${table}/${chain}`;

export function readRuleset(ruleset: unknown): Ruleset {
  const items = isObj(ruleset) && Array.isArray(ruleset.nftables) ? (ruleset.nftables as unknown[]) : [];
  const bases: BaseChain[] = [];
  const rules = new Map<string, Json[]>();
  for (const item of items) {
    if (!isObj(item)) continue;
    if (isObj(item.chain) && typeof item.chain.hook === "string") {
      const c = item.chain;
      bases.push({
        family: String(c.family),
        table: String(c.table),
        name: String(c.name),
        hook: String(c.hook),
        priority: typeof c.prio === "number" ? c.prio : 0,
        policy: typeof c.policy === "string" ? c.policy : "accept",
      });
    } else if (isObj(item.rule)) {
      const r = item.rule;
      const k = key(String(r.family), String(r.table), String(r.chain));
      rules.set(k, [...(rules.get(k) ?? []), r]);
    }
  }
  return { bases, rules };
}

function values(right: unknown): string[] {
  if (typeof right === "string" || typeof right === "number") return [String(right)];
  if (Array.isArray(right)) return right.flatMap(values);
  if (isObj(right) && Array.isArray(right.set)) return right.set.flatMap(values);
  if (isObj(right) && isObj(right.prefix))
    return [`${String(right.prefix.addr)}/${String(right.prefix.len)}`];
  return [];
}

function nameMatches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

function addressMatches(value: string, address: string): boolean {
  try {
    const [addr, len] = value.split("/");
    const bits = len === undefined ? 128 : Number(len);
    const shift = BigInt(128 - bits);
    return parseIpv6(addr ?? "") >> shift === parseIpv6(address) >> shift;
  } catch {
    return false;
  }
}

/** What the packet's field is for a match's left side, or undefined when this reader does not know it. */
function fieldMatch(left: Json, wanted: string[], packet: Packet): boolean | undefined {
  const meta = isObj(left.meta) ? left.meta.key : undefined;
  const payload = isObj(left.payload) ? left.payload : undefined;
  const ct = isObj(left.ct) ? left.ct.key : undefined;
  if (meta === "iifname" && packet.iifname !== undefined)
    return wanted.some((w) => nameMatches(w, packet.iifname ?? ""));
  if (meta === "oifname" && packet.oifname !== undefined)
    return wanted.some((w) => nameMatches(w, packet.oifname ?? ""));
  const protocolField = meta === "l4proto" || (payload?.protocol === "ip6" && payload.field === "nexthdr");
  if (protocolField && packet.l4proto !== undefined)
    return wanted.some((w) => (PROTOCOLS[w] ?? Number(w)) === packet.l4proto);
  if (payload?.protocol === "ip6" && payload.field === "saddr" && packet.saddr6 !== undefined)
    return wanted.some((w) => addressMatches(w, packet.saddr6 ?? ""));
  if (ct === "state" && packet.ctState !== undefined) return wanted.includes(packet.ctState);
  return undefined;
}

/** True when the rule's matches all hold for the packet; false when one fails or is unknown. */
function matches(expr: readonly unknown[], packet: Packet): boolean {
  for (const e of expr) {
    if (!isObj(e) || !isObj(e.match)) continue;
    const m = e.match;
    if (!isObj(m.left)) return false;
    const hit = fieldMatch(m.left, values(m.right), packet);
    if (hit === undefined) return false;
    const negated = m.op === "!=";
    if (hit === negated) return false;
  }
  return true;
}

type Outcome =
  | {
      readonly kind: "verdict";
      readonly verdict: Walk["verdict"];
      readonly at: Omit<Walk, "verdict" | "chain">;
    }
  | { readonly kind: "return" };

function walkChain(
  rs: Ruleset,
  family: string,
  table: string,
  chain: string,
  packet: Packet,
  depth: number,
): Outcome {
  if (depth > 16) return { kind: "return" };
  for (const rule of rs.rules.get(key(family, table, chain)) ?? []) {
    const expr = Array.isArray(rule.expr) ? (rule.expr as unknown[]) : [];
    if (!matches(expr, packet)) continue;
    const at = {
      decidedIn: `${family} ${table} ${chain}`,
      handle: typeof rule.handle === "number" ? rule.handle : null,
      comment: typeof rule.comment === "string" ? rule.comment : null,
    };
    for (const e of expr) {
      if (!isObj(e)) continue;
      if ("accept" in e) return { kind: "verdict", verdict: "accept", at };
      if ("drop" in e || "reject" in e) return { kind: "verdict", verdict: "drop", at };
      if ("notrack" in e) return { kind: "verdict", verdict: "notrack", at };
      if ("return" in e) return { kind: "return" };
      const target = isObj(e.jump) ? e.jump.target : isObj(e.goto) ? e.goto.target : undefined;
      if (typeof target === "string") {
        const inner = walkChain(rs, family, table, target, packet, depth + 1);
        if (inner.kind === "verdict") return inner;
        if (isObj(e.goto)) return inner;
      }
    }
  }
  return { kind: "return" };
}

/**
 * Walks one base chain. notrack is reported as a verdict: it ends nothing in nftables, but for the
 * conntrack reading it is the point that matters.
 */
export function walkBase(rs: Ruleset, base: BaseChain, packet: Packet): Walk {
  const out = walkChain(rs, base.family, base.table, base.name, packet, 0);
  if (out.kind === "verdict") return { verdict: out.verdict, chain: base, ...out.at };
  return {
    verdict: base.policy === "drop" ? "drop" : "accept",
    chain: base,
    decidedIn: `${base.family} ${base.table} ${base.name} (policy)`,
    handle: null,
    comment: null,
  };
}

/** Base chains of a hook that see the packet's family, lowest priority first. */
export function basesOf(rs: Ruleset, families: readonly string[], hooks: readonly string[]): BaseChain[] {
  return rs.bases
    .filter((b) => families.includes(b.family) && hooks.includes(b.hook))
    .sort((a, b) => a.priority - b.priority);
}
