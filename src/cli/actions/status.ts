import { processRunner, type CommandRunner } from "../../host/command-runner.ts";
import { readStatus } from "../../daemon/status-report.ts";
import { printJson, formatFields, type Output } from "../output.ts";
import { planSummary, type ApplyFlags } from "./action-report.ts";

export async function runStatus(
  flags: ApplyFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const report = await readStatus(runner);
  if (flags.json === true) {
    printJson(output, report);
    return;
  }
  const { plan, tunnel, ports } = report;
  if (!report.applied || plan === null || tunnel === null) {
    output.out("mapectl status: no IPv4 method (MAP-E, DS-Lite) is applied on this host (run mapectl up).");
    return;
  }
  const rows: [string, string][] = [
    ["parameters", planSummary(plan)],
    [
      "tunnel",
      `${plan.tunnel.name} ${tunnel.exists ? (tunnel.up ? "up" : "DOWN") : "MISSING"}, ${plan.tunnel.local} → ${plan.tunnel.remote}, MTU ${plan.tunnel.mtu}`,
    ],
    [
      "counters",
      tunnel.txPackets === null
        ? "unknown"
        : `tx ${tunnel.txPackets} packets / ${tunnel.txBytes ?? 0} bytes, rx ${tunnel.rxPackets ?? 0} packets / ${tunnel.rxBytes ?? 0} bytes`,
    ],
    ["applied", report.appliedAt ?? "?"],
    [
      "live host",
      report.inSync ? "matches the plan" : `DIFFERS from the plan (${report.drift.length}): run mapectl up`,
    ],
  ];
  const lines = ["mapectl status", formatFields(rows)];
  for (const d of report.drift) lines.push(`    - needs: ${d}`);
  if (ports !== null) {
    const perProtocol = Object.entries(ports.perProtocol)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    lines.push(
      `  NAT ports in use: ${ports.total} of ${ports.portCount} (${perProtocol === "" ? "none" : perProtocol})`,
    );
    lines.push(`    per block: ${ports.perBlock.map((b) => `${b.first}:${b.used}`).join(" ")}`);
  } else if (report.method === "map-e") {
    lines.push("  NAT ports in use: unknown (conntrack not installed or not root)");
  }
  if (report.events.length > 0) {
    lines.push("  recent events:");
    for (const e of report.events.slice(-5)) lines.push(`    ${e.at} ${e.level}: ${e.message}`);
  }
  output.out(lines.join("\n"));
}
