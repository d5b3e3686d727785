import type { PortRange } from "../mape/port-set.ts";

/**
 * What a live ruleset does to IPv4 leaving through the tunnel, read from `nft -j list ruleset`
 * (libnftables-json). Works on any ruleset: mapectl's, VyOS's vyos_nat, a hand-written one.
 */
export interface NatRule {
  readonly where: string;
  /** The oifname the rule matches, or null when it matches every interface. */
  readonly oifname: string | null;
  /** The `ip saddr` match that limits it (e.g. the LAN range), or null. */
  readonly sourceMatch: string | null;
  /** Transport protocols it applies to; null means every protocol. */
  readonly protocols: readonly string[] | null;
  readonly kind: "snat" | "masquerade";
  /** Addresses it translates to (null: the interface's own, for masquerade). */
  readonly addresses: readonly string[] | null;
  /** Port ranges it translates into; null when it keeps the source port. */
  readonly ports: readonly PortRange[] | null;
  /** nft 1.0.6's "snat to A : numgen … map { i : lo-hi }" that keeps only the first port of each range. */
  readonly firstPortOnly: boolean;
  /** Rules reached from one verdict map are alternatives (e.g. one chain per port block): same id. */
  readonly alternative: number | null;
  /** Priority of the base chain it is reached from: the kernel runs lower numbers first. */
  readonly priority: number;
  /** The rule's handle in its chain (`nft delete rule <where> handle N`), when nft printed one. */
  readonly handle: number | null;
  /** The rule's comment: VyOS names its NAT rules "SRC-NAT-<rule number>". */
  readonly comment: string | null;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

interface Inherited {
  oifname: string | null;
  sourceMatch: string | null;
  protocols: string[] | null;
  alternative: number | null;
  priority: number;
}

let nextAlternative = 0;

function matchValue(right: unknown): string[] {
  if (typeof right === "string" || typeof right === "number") return [String(right)];
  if (isObj(right) && Array.isArray(right.set)) return right.set.flatMap(matchValue);
  if (isObj(right) && isObj(right.prefix))
    return [`${String(right.prefix.addr)}/${String(right.prefix.len)}`];
  if (isObj(right) && Array.isArray(right.range))
    return [`${String(right.range[0])}-${String(right.range[1])}`];
  return [JSON.stringify(right)];
}

const PROTOCOL_NUMBERS: Record<string, string> = { "1": "icmp", "6": "tcp", "17": "udp" };

/** Address and port-range targets of an snat statement in any of the shapes nft prints. */
function snatTargets(snat: Json): { addresses: string[]; ports: PortRange[] | null; firstPortOnly: boolean } {
  const addresses = new Set<string>();
  const ports: PortRange[] = [];
  // closures below set these; an object keeps the compiler's flow analysis honest
  const seen = { ports: false, firstPortOnly: false };
  const addPort = (value: unknown) => {
    if (typeof value === "number") {
      seen.ports = true;
      ports.push([value, value]);
    } else if (isObj(value) && Array.isArray(value.range)) {
      seen.ports = true;
      const [lo, hi] = value.range as [number, number];
      if (hi < lo) {
        seen.firstPortOnly = true;
        ports.push([lo, lo]);
      } else ports.push([lo, hi]);
    }
  };
  const addData = (value: unknown) => {
    if (typeof value === "string") addresses.add(value);
    else if (isObj(value) && Array.isArray(value.concat)) {
      const [addr, port] = value.concat as [unknown, unknown];
      if (typeof addr === "string") addresses.add(addr);
      addPort(port);
    } else if (isObj(value) && Array.isArray(value.range) && typeof value.range[0] === "string") {
      addresses.add(`${value.range[0]}-${String(value.range[1])}`);
    }
  };
  const mapData = (value: unknown, each: (v: unknown) => void) => {
    if (isObj(value) && isObj(value.map) && isObj(value.map.data) && Array.isArray(value.map.data.set)) {
      for (const element of value.map.data.set) if (Array.isArray(element)) each(element[1]);
      return true;
    }
    return false;
  };
  if (!mapData(snat.addr, addData)) addData(snat.addr);
  if (snat.port !== undefined && !mapData(snat.port, addPort)) addPort(snat.port);
  return { addresses: [...addresses], ports: seen.ports ? ports : null, firstPortOnly: seen.firstPortOnly };
}

/** Narrows what the rule's later statements apply to; true when the rule cannot match the tunnel. */
function applyMatch(ctx: Inherited, match: Json): boolean {
  const left = match.left;
  const values = matchValue(match.right);
  const op = match.op;
  if (isObj(left) && isObj(left.meta) && left.meta.key === "oifname") {
    if (op === "!=") return values.length === 1 && ctx.oifname === values[0];
    ctx.oifname = values[0] ?? null;
  } else if (
    isObj(left) &&
    isObj(left.meta) &&
    (left.meta.key === "l4proto" || left.meta.key === "protocol")
  ) {
    ctx.protocols = values.map((v) => PROTOCOL_NUMBERS[v] ?? v);
  } else if (isObj(left) && isObj(left.payload) && left.payload.protocol === "ip") {
    if (left.payload.field === "protocol") ctx.protocols = values.map((v) => PROTOCOL_NUMBERS[v] ?? v);
    else if (left.payload.field === "saddr")
      ctx.sourceMatch = `${op === "!=" ? "!= " : ""}${values.join(", ")}`;
  } else if (
    isObj(left) &&
    isObj(left.payload) &&
    (left.payload.protocol === "tcp" || left.payload.protocol === "udp")
  ) {
    ctx.protocols = [left.payload.protocol];
  }
  return false;
}

/** An snat or masquerade statement, with the matches in front of it. */
function natStatement(e: Json, rule: Json, where: string, ctx: Inherited): NatRule | null {
  const found = {
    where,
    ...ctx,
    handle: typeof rule.handle === "number" ? rule.handle : null,
    comment: typeof rule.comment === "string" ? rule.comment : null,
  };
  if (isObj(e.snat)) {
    const t = snatTargets(e.snat);
    return { ...found, kind: "snat", addresses: t.addresses, ports: t.ports, firstPortOnly: t.firstPortOnly };
  }
  if (isObj(e.masquerade) || "masquerade" in e) {
    const t = isObj(e.masquerade) ? snatTargets(e.masquerade) : { ports: null, firstPortOnly: false };
    return { ...found, kind: "masquerade", addresses: null, ports: t.ports, firstPortOnly: t.firstPortOnly };
  }
  return null;
}

/** The chain a jump or goto verdict goes to. */
function verdictTarget(verdict: unknown): string | null {
  if (!isObj(verdict)) return null;
  const target: unknown = isObj(verdict.jump)
    ? verdict.jump.target
    : isObj(verdict.goto)
      ? verdict.goto.target
      : null;
  return typeof target === "string" ? target : null;
}

function walkChain(
  chains: Map<string, Json[]>,
  table: string,
  chain: string,
  inherited: Inherited,
  out: NatRule[],
  depth: number,
): void {
  if (depth > 8) return;
  const walk = (target: string | null, ctx: Inherited) => {
    if (target !== null) walkChain(chains, table, target, ctx, out, depth + 1);
  };
  for (const rule of chains.get(`${table}/${chain}`) ?? []) {
    const expr = Array.isArray(rule.expr) ? (rule.expr as unknown[]) : [];
    const ctx: Inherited = {
      ...inherited,
      protocols: inherited.protocols === null ? null : [...inherited.protocols],
    };
    for (const e of expr) {
      if (!isObj(e)) continue;
      if (isObj(e.match)) {
        if (applyMatch(ctx, e.match)) break;
        continue;
      }
      const nat = natStatement(e, rule, `${table} ${chain}`, ctx);
      if (nat !== null) out.push(nat);
      else if (isObj(e.jump) || isObj(e.goto)) walk(verdictTarget(e), ctx);
      else if (isObj(e.vmap) && isObj(e.vmap.data) && Array.isArray(e.vmap.data.set)) {
        const alternatives = { ...ctx, alternative: nextAlternative++ };
        for (const element of e.vmap.data.set)
          walk(verdictTarget(Array.isArray(element) ? element[1] : null), alternatives);
      }
    }
  }
}

/**
 * Every NAT statement reachable from an IPv4 postrouting nat chain, with the matches in front of it,
 * in the order the kernel tries them: base chains by priority (the first NAT binding of a flow wins,
 * so a chain at srcnat - 1 shadows one at srcnat), equal priorities in the order nft lists them.
 */
export function analyzeNat(ruleset: unknown): NatRule[] {
  const items = isObj(ruleset) && Array.isArray(ruleset.nftables) ? (ruleset.nftables as unknown[]) : [];
  const chains = new Map<string, Json[]>();
  const bases: { table: string; chain: string; priority: number }[] = [];
  for (const item of items) {
    if (!isObj(item)) continue;
    if (isObj(item.chain)) {
      const c = item.chain;
      if ((c.family === "ip" || c.family === "inet") && c.type === "nat" && c.hook === "postrouting") {
        bases.push({
          table: `${c.family} ${String(c.table)}`,
          chain: String(c.name),
          priority: typeof c.prio === "number" ? c.prio : 100,
        });
      }
    } else if (isObj(item.rule)) {
      const r = item.rule;
      const key = `${String(r.family)} ${String(r.table)}/${String(r.chain)}`;
      const list = chains.get(key) ?? [];
      list.push(r);
      chains.set(key, list);
    }
  }
  const out: NatRule[] = [];
  // Array.prototype.sort is stable: equal priorities keep nft's order.
  for (const base of [...bases].sort((a, b) => a.priority - b.priority))
    walkChain(
      chains,
      base.table,
      base.chain,
      { oifname: null, sourceMatch: null, protocols: null, alternative: null, priority: base.priority },
      out,
      0,
    );
  return out;
}

/** True when the ruleset clamps the TCP MSS of SYNs leaving through the tunnel. */
export function hasMssClamp(ruleset: unknown, tunnel: string): boolean {
  const items = isObj(ruleset) && Array.isArray(ruleset.nftables) ? (ruleset.nftables as unknown[]) : [];
  return items.some((item) => {
    if (!isObj(item) || !isObj(item.rule) || !Array.isArray(item.rule.expr)) return false;
    const expr = item.rule.expr as unknown[];
    const mangle = expr.some(
      (e) =>
        isObj(e) &&
        isObj(e.mangle) &&
        isObj(e.mangle.key) &&
        isObj(e.mangle.key["tcp option"]) &&
        e.mangle.key["tcp option"].name === "maxseg",
    );
    const oif = expr.find(
      (e) =>
        isObj(e) &&
        isObj(e.match) &&
        isObj(e.match.left) &&
        isObj(e.match.left.meta) &&
        e.match.left.meta.key === "oifname",
    );
    const oifOk =
      oif === undefined || (isObj(oif) && isObj(oif.match) && matchValue(oif.match.right).includes(tunnel));
    return mangle && oifOk;
  });
}

/** Ports the host's table rewrites after NAT, per protocol: allocated port → port on the wire. */
export type PortFolds = Readonly<Record<string, ReadonlyMap<number, number>>>;

const FOLDED_FIELDS: Record<string, string> = { "tcp sport": "tcp", "udp sport": "udp", "icmp id": "icmp" };

/** The named map a `<field> set <field> map @name` statement looks the field up in, with its protocol. */
function foldStatement(e: Json): { protocol: string; map: string } | null {
  if (!isObj(e.mangle) || !isObj(e.mangle.key) || !isObj(e.mangle.key.payload)) return null;
  const field = `${String(e.mangle.key.payload.protocol)} ${String(e.mangle.key.payload.field)}`;
  const protocol = FOLDED_FIELDS[field];
  const value = e.mangle.value;
  if (protocol === undefined || !isObj(value) || !isObj(value.map) || typeof value.map.data !== "string")
    return null;
  return value.map.data.startsWith("@") ? { protocol, map: value.map.data.slice(1) } : null;
}

/**
 * A chain that sees packets after NAT: postrouting above srcnat (100), or a netdev egress chain (on
 * a device's transmit, after every IP hook; nft -j does not name its device, so any).
 */
function foldsAfterNat(chain: Json): boolean {
  if (chain.hook === "postrouting") return Number(chain.prio) > 100;
  return chain.family === "netdev" && chain.hook === "egress";
}

/**
 * What a stateless port fold (mapectl's fold allocator, or any table built the same way) does to
 * the ports the NAT chose: a chain after NAT (foldsAfterNat) that sets a source port or echo id
 * through a named map, on packets leaving through the tunnel.
 */
export function portFolds(ruleset: unknown, tunnel: string): PortFolds {
  const items = isObj(ruleset) && Array.isArray(ruleset.nftables) ? (ruleset.nftables as unknown[]) : [];
  const maps = new Map<string, Map<number, number>>();
  const late = new Set<string>();
  for (const item of items) {
    if (!isObj(item)) continue;
    if (isObj(item.map) && Array.isArray(item.map.elem)) {
      const pairs = (item.map.elem as unknown[]).filter(
        (el): el is [number, number] =>
          Array.isArray(el) && typeof el[0] === "number" && typeof el[1] === "number",
      );
      maps.set(
        `${String(item.map.family)} ${String(item.map.table)} ${String(item.map.name)}`,
        new Map(pairs),
      );
    } else if (isObj(item.chain) && foldsAfterNat(item.chain)) {
      late.add(`${String(item.chain.family)} ${String(item.chain.table)}/${String(item.chain.name)}`);
    }
  }
  const folds: Record<string, ReadonlyMap<number, number>> = {};
  for (const item of items) {
    if (!isObj(item) || !isObj(item.rule) || !Array.isArray(item.rule.expr)) continue;
    const r = item.rule;
    if (!late.has(`${String(r.family)} ${String(r.table)}/${String(r.chain)}`)) continue;
    const ctx: Inherited = {
      oifname: null,
      sourceMatch: null,
      protocols: null,
      alternative: null,
      priority: 0,
    };
    for (const e of r.expr as unknown[]) {
      if (!isObj(e)) continue;
      if (isObj(e.match) && applyMatch(ctx, e.match)) break;
      const fold = foldStatement(e);
      const map = fold === null ? undefined : maps.get(`${String(r.family)} ${String(r.table)} ${fold.map}`);
      if (fold !== null && map !== undefined && (ctx.oifname === null || ctx.oifname === tunnel))
        folds[fold.protocol] = map;
    }
  }
  return folds;
}

/** Port ranges as they reach the wire through a fold (ports the fold misses stay). */
export function foldPorts(
  ports: readonly PortRange[],
  fold: ReadonlyMap<number, number> | undefined,
): PortRange[] {
  if (fold === undefined) return [...ports];
  const wire: number[] = [];
  for (const [lo, hi] of ports) for (let p = lo; p <= hi; p++) wire.push(fold.get(p) ?? p);
  wire.sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const p of wire) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && p <= last[1] + 1) last[1] = Math.max(last[1], p);
    else ranges.push([p, p]);
  }
  return ranges;
}

/** The rule with its port ranges as they reach the wire through a fold. */
export function foldedRule(rule: NatRule, fold: ReadonlyMap<number, number> | undefined): NatRule {
  if (fold === undefined || rule.ports === null) return rule;
  return { ...rule, ports: foldPorts(rule.ports, fold) };
}
