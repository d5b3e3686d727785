import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { JSON_HELP } from "../common-options.ts";
import type { Command } from "commander";
import { parseIpv6Prefix, formatIpv6Prefix } from "../../mape/ipv6.ts";
import { CliError } from "../exit-codes.ts";
import { formatFields, printJson, type Output } from "../output.ts";
import type { ScenarioReport } from "../../../lab/scenarios/scenario.ts";

interface RunOptions {
  prefix?: string;
  json?: boolean;
}

// The lab library is imported only inside the actions: `mapectl calc` must not pay for it.
async function labModules(): Promise<{
  scenarios: typeof import("../../../lab/scenarios/index.ts");
  lab: typeof import("../../../lab/lab.ts");
  preflight: typeof import("../../../lab/preflight.ts");
  paths: typeof import("../../../lab/paths.ts");
}> {
  const [scenarios, lab, preflight, paths] = await Promise.all([
    import("../../../lab/scenarios/index.ts"),
    import("../../../lab/lab.ts"),
    import("../../../lab/preflight.ts"),
    import("../../../lab/paths.ts"),
  ]);
  return { scenarios, lab, preflight, paths };
}

export function registerLab(program: Command, output: Output): void {
  const lab = program
    .command("lab")
    .summary("rehearse MAP-E on a real Linux kernel in a VM (root, qemu)")
    .description(
      "Boots Debian's kernel under qemu with a LAN client, the CE, the ISP's access network (RA, DHCPv6-PD,\n" +
        "DNS, HB46PP), strict BRs and an IPv4 internet, each in its own network namespace, and runs a scenario.",
    );

  lab
    .command("list")
    .description("name the scenarios")
    .option("--json", JSON_HELP)
    .action(async (options: { json?: boolean }) => {
      const { scenarios } = await labModules();
      if (options.json === true) {
        printJson(output, {
          schemaVersion: SCHEMA_VERSION,
          scenarios: scenarios.SCENARIOS.map((s) => ({ name: s.name, summary: s.summary })),
        });
      } else {
        output.out(
          formatFields(
            scenarios.SCENARIOS.map((s) => [s.name, s.summary]),
            "",
          ),
        );
      }
    });

  lab
    .command("run")
    .description("boot the lab and run one scenario; exit 0 when every check passed, 1 when one failed")
    .argument("<scenario>", "a name from `mapectl lab list`")
    .option("--prefix <prefix>", "the /56 the ISP delegates (default: 2404:7a82:4d02:4100::/56)")
    .option("--json", JSON_HELP)
    .action(async (name: string, options: RunOptions) => {
      const { scenarios, lab: labModule, preflight, paths } = await labModules();
      const scenario = scenarios.findScenario(name);
      if (scenario === undefined) {
        throw new CliError(
          "usage",
          `no scenario "${name}"; mapectl lab list names them: ${scenarios.SCENARIOS.map((s) => s.name).join(", ")}`,
        );
      }
      const prefix =
        options.prefix === undefined ? undefined : formatIpv6Prefix(parseIpv6Prefix(options.prefix));
      const problems = preflight.labPreflight();
      if (problems.length > 0) throw new CliError("environment", `lab: ${problems.join("; ")}`);
      const progress = (line: string): void => {
        if (options.json !== true) output.err(line);
      };
      scenario.beforeBoot?.(paths.repoRoot(), progress);
      const booted = await labModule.Lab.boot({
        ...scenario.labOptions,
        ...(prefix === undefined ? {} : { prefix }),
        log: progress,
      });
      let report: Awaited<ReturnType<typeof scenarios.runScenario>>;
      try {
        report = await scenarios.runScenario(booted, scenario);
      } finally {
        await booted.shutdown();
      }
      if (options.json === true) {
        printJson(output, report);
      } else {
        output.out(formatScenarioReport(report));
      }
      if (!report.passed) {
        const failed = report.checks.filter((c) => !c.passed).length;
        throw new CliError(
          "failure",
          `lab scenario ${report.scenario}: ${failed} of ${report.checks.length} checks failed`,
        );
      }
    });
}

/** The human form of a scenario's report: a line a check, the BR counters, the figures. */
function formatScenarioReport(report: ScenarioReport): string {
  const lines = [`${report.scenario} on ${report.prefix}: ${report.passed ? "passed" : "FAILED"}`];
  for (const check of report.checks)
    lines.push(`  ${check.passed ? "ok  " : "FAIL"}  ${check.name}: ${check.detail}`);
  const moved = Object.entries(report.counters).map(([n, c]) => `${n}=${c.packets}`);
  lines.push(`  BR counters: ${moved.length === 0 ? "all 0" : moved.join(" ")}`);
  const figures = Object.entries(report.figures ?? {}).map(([n, v]) => `${n}=${v === null ? "-" : v}`);
  if (figures.length > 0) lines.push(`  figures: ${figures.join(" ")}`);
  return lines.join("\n");
}
