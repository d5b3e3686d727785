import { parseIpv6 } from "../mape/ipv6.ts";
import type { Finding } from "./findings.ts";
import type { CapturedPacket } from "./pcap.ts";

export interface ProbeStep {
  readonly name: string;
  readonly target: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ProbeReport {
  readonly steps: readonly ProbeStep[];
  readonly tunnelTx: number | null;
  readonly tunnelRx: number | null;
  /** From the WAN capture: packets to the tunnel's BR, from it, and from any other address. */
  readonly toBr: number | null;
  readonly fromBr: number | null;
  readonly fromOthers: readonly string[];
  readonly withDestOptions: number | null;
}

function same(a: string, b: string): boolean {
  try {
    return parseIpv6(a) === parseIpv6(b);
  } catch {
    return false;
  }
}

export function countCapture(
  packets: readonly CapturedPacket[],
  br: string,
): Pick<ProbeReport, "toBr" | "fromBr" | "fromOthers" | "withDestOptions"> {
  const others = new Set<string>();
  let toBr = 0;
  let fromBr = 0;
  let withDestOptions = 0;
  for (const p of packets) {
    if (p.payload !== 4) continue;
    if (same(p.dst, br)) {
      toBr++;
      if (p.destOptions) withDestOptions++;
    } else if (same(p.src, br)) fromBr++;
    else others.add(p.src);
  }
  return { toBr, fromBr, fromOthers: [...others], withDestOptions };
}

/** The expert's one line: where the packets went and what came back. */
export function probeFinding(report: ProbeReport, br: string): Finding {
  const failed = report.steps.filter((s) => !s.ok);
  const sent = report.toBr ?? report.tunnelTx ?? 0;
  const received = report.fromBr ?? report.tunnelRx ?? 0;
  const traffic = `${sent} sent to BR ${br}, ${received} received`;
  const evidence = { ...report };
  if (failed.length === 0) {
    return {
      id: "probe-path",
      verdict: "ok",
      summary: `every probe got an answer (${traffic})`,
      evidence,
      fix: [],
    };
  }
  const extra: string[] = [];
  if (sent === 0) extra.push("nothing left towards the BR: look at the CE address and the route to the BR");
  else if (received === 0)
    extra.push(
      "packets leave, nothing comes back: the BR does not accept this CE (wrong BR, CE address, interface ID or port set)",
    );
  if (report.fromOthers.length > 0)
    extra.push(`IPv4-in-IPv6 arrived from ${report.fromOthers.join(", ")} instead: is that the right BR?`);
  if ((report.withDestOptions ?? 0) > 0)
    extra.push(`${report.withDestOptions ?? 0} packets carried a destination-options header (encaplimit)`);
  return {
    id: "probe-path",
    verdict: "fail",
    summary: `${failed.map((s) => `${s.name} to ${s.target}: ${s.detail}`).join("; ")} (${traffic})${extra.length > 0 ? `; ${extra.join("; ")}` : ""}`,
    evidence,
    fix: [],
  };
}
