import { shellCommand } from "../../render/shell.ts";
import { type CheckContext, ok } from "../context.ts";
import type { Finding } from "../findings.ts";
import { basesOf, readRuleset, walkBase, type Walk } from "../ruleset-walk.ts";

/** The kernel's conntrack hooks in at priority -200: a notrack at a lower priority comes first. */
const CONNTRACK_PRIORITY = -200;

/** VyOS's lines that keep conntrack on whatever else is configured (system_conntrack.py L180-182). */
export const VYOS_STATE_POLICY = [
  "set firewall global-options state-policy established action accept",
  "set firewall global-options state-policy related action accept",
];

const VYOS_CONNTRACK_TABLE = "vyos_conntrack";

function shellFix(walks: readonly Walk[]): string[] {
  const vyos = walks.filter((w) => w.chain.table === VYOS_CONNTRACK_TABLE);
  const other = walks.filter((w) => w.chain.table !== VYOS_CONNTRACK_TABLE);
  return [
    ...(vyos.length > 0
      ? [
          "# until VyOS's next firewall or NAT commit renders vyos_conntrack again (the VyOS lines last):",
          shellCommand(["nft", "insert", "rule", "ip", VYOS_CONNTRACK_TABLE, "FW_CONNTRACK", "accept"]),
        ]
      : []),
    ...other.map((w) =>
      w.handle === null
        ? `# remove the notrack from ${w.decidedIn}`
        : shellCommand([
            "nft",
            "delete",
            "rule",
            w.chain.family,
            w.chain.table,
            w.chain.name,
            "handle",
            String(w.handle),
          ]),
    ),
  ];
}

/**
 * IPv4 that is not tracked is never translated (NAT needs conntrack) and never matches
 * `ct state established`: VyOS's vyos_conntrack ends its prerouting and output chains in notrack
 * unless a `nat` node or a stateful firewall makes FW_CONNTRACK or NAT_CONNTRACK accept.
 */
export function conntrackOff(ctx: CheckContext): Finding | null {
  if (ctx.input.ruleset === null) return null;
  const rs = readRuleset(ctx.input.ruleset);
  const early = basesOf(rs, ["ip", "inet"], ["prerouting", "output"]).filter(
    (b) => b.priority < CONNTRACK_PRIORITY,
  );
  // Traffic to and from the tunnel, nothing else known about it: only unconditional rules decide.
  const walks = early.map((b) => walkBase(rs, b, {})).filter((w) => w.verdict === "notrack");
  if (walks.length === 0)
    return ok("conntrack-off", "no chain before conntrack untracks IPv4", {
      checkedChains: early.map((b) => `${b.family} ${b.table} ${b.name}`),
    });
  const vyos = walks.some((w) => w.chain.table === VYOS_CONNTRACK_TABLE);
  const hooks = [...new Set(walks.map((w) => w.chain.hook))].join(" and ");
  return {
    id: "conntrack-off",
    verdict: "fail",
    summary:
      `connection tracking is off: ${walks.map((w) => w.decidedIn).join(", ")} end${walks.length === 1 ? "s" : ""} in notrack at ${hooks}, before conntrack. ` +
      `mapectl's NAT never runs (IPv4 leaves ${ctx.name} with the LAN's private address, which the BR drops) and its ct state accept never matches` +
      (vyos
        ? ". VyOS turns conntrack on only while a nat node or a stateful firewall rule exists: deleting the last one turns it off"
        : ""),
    evidence: {
      notrack: walks.map((w) => ({ chain: w.decidedIn, hook: w.chain.hook, priority: w.chain.priority })),
    },
    fix: shellFix(walks),
    ...(vyos
      ? {
          vyosFix: [
            "# a global state-policy keeps conntrack on however NAT and firewall rules change",
            ...VYOS_STATE_POLICY,
            "commit",
          ],
        }
      : {}),
  };
}
