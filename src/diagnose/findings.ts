export type Verdict = "ok" | "warn" | "fail";

/** Check ids are part of mapectl's interface (`doctor --json`): never rename one. */
export const CHECK_IDS = [
  "not-mape-line",
  "tunnel-missing",
  "br-mismatch",
  "prefix-changed",
  "ce-address-mismatch",
  "ce-address-missing",
  "ce-address-duplicate",
  "br-route",
  "encap-limit",
  "tunnel-down",
  "ipv4-address",
  "ipv4-default-route",
  "conntrack-off",
  "firewall-drops",
  "nat-outside-port-set",
  "nat-port-coverage",
  "nat-icmp",
  "nat-source-restricted",
  "mtu-mss",
  "ipv4-forwarding",
  "boot-table-stale",
  "probe-path",
  // IPIP with a fixed address (src/diagnose/checks/ipip.ts), most likely cause first
  "ipip.credentials-missing",
  "ipip.update-refused",
  "ipip.update-failed",
  "ipip.prefix-unregistered",
  "ipip.br-unreachable",
  "ipip.tunnel-missing",
  "ipip.fixed-address-missing",
  // DS-Lite's B4 (src/diagnose/checks/dslite.ts), most likely cause first
  "dslite.aftr-name-unresolved",
  "dslite.aftr-unreachable",
  "dslite.tunnel-missing",
  "dslite.tunnel-mismatch",
  "dslite.tunnel-down",
  "dslite.b4-address-missing",
  "dslite.default-route-missing",
  "dslite.ipv4-forwarding",
  "dslite.mtu-mss",
  "dslite.nat-on-router",
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

export interface Finding {
  readonly id: CheckId;
  readonly verdict: Verdict;
  readonly summary: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  /** Exact commands that fix it (shell lines), empty when nothing is to be done. */
  readonly fix: readonly string[];
  /** The same fix as VyOS configuration-mode lines, on VyOS. */
  readonly vyosFix?: readonly string[];
}

const RANK: Record<Verdict, number> = { fail: 0, warn: 1, ok: 2 };

/** Failures first, each in the order of CHECK_IDS, which is the order of likelihood on a dead path. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => RANK[a.verdict] - RANK[b.verdict] || CHECK_IDS.indexOf(a.id) - CHECK_IDS.indexOf(b.id),
  );
}
