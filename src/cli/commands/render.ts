import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { JSON_HELP } from "../common-options.ts";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Option, type Command } from "commander";
import type { Ipv6Prefix } from "../../mape/ipv6.ts";
import type { MethodDecision } from "../../plan/desired-dslite.ts";
import { planMethod, type Plan } from "../../plan/method.ts";
import type { Settings } from "../../plan/settings.ts";
import type { RuleTable } from "../../rules/table.ts";
import {
  formatRendered,
  needsPlan,
  octalMode,
  RENDER_TARGETS,
  type Rendered,
  type RenderTarget,
} from "../../render/targets.ts";
import { withMarkedBlock } from "../../render/marked-block.ts";
import { printJson, type Output } from "../output.ts";
import { addPlanOptions, type PlanFlags } from "../plan-options.ts";

interface RenderFlags extends PlanFlags {
  target: RenderTarget;
  json?: boolean;
  outputDir?: string;
}

/** The method's decision from the settings and the shipped tables (the network is not asked). */
async function decide(
  settings: Settings,
  prefix: Ipv6Prefix | null,
  table: RuleTable,
): Promise<MethodDecision> {
  const { methodWithoutNetwork } = await import("../../plan/desired-dslite.ts");
  const { shippedAftrNames, shippedNotMape } = await import("../../rules/shipped.ts");
  return methodWithoutNetwork(settings, prefix, {
    table,
    notMape: shippedNotMape(),
    aftrNames: shippedAftrNames(),
  });
}

/** Away from the router (a prefix is known) the host is not read; on the router, as `up` does. */
async function planFor(flags: RenderFlags, warnings: string[]): Promise<Plan> {
  const { settingsFrom } = await import("../settings.ts");
  const { loadRuleTables } = await import("../rule-tables.ts");
  const { shippedNotMape } = await import("../../rules/shipped.ts");
  const { parseIpv6Prefix } = await import("../../mape/ipv6.ts");
  const { resolveAftr } = await import("../../host/aftr-resolve.ts");
  const desired = await import("../../plan/desired.ts");
  const dsLite = await import("../../plan/desired-dslite.ts");
  const { settings } = settingsFrom(flags);
  if (settings.method === "ipip" || (settings.method === "auto" && settings.ipip.ipv4 !== null)) {
    const { ipipRenderPlan } = await import("./render-ipip.ts");
    return ipipRenderPlan(settings, warnings);
  }
  const table = loadRuleTables(settings.rulesFiles);
  if (settings.prefix !== null) {
    const decision = await decide(settings, parseIpv6Prefix(settings.prefix), table);
    if (decision.method === "ds-lite") {
      const plan = dsLite.dsLitePlanWithoutHost(
        settings,
        await resolveAftr(decision.aftr, settings.resolvers),
      );
      warnings.push(
        `the tunnel's IPv6 source is the placeholder ${plan.tunnel.local}: replace it with the WAN's global address (on the router: ip -6 addr show dev ${plan.wan} scope global)`,
      );
      return plan;
    }
    const built = desired.planWithoutHost(settings, table, shippedNotMape());
    if (built.gatewayMissing) {
      warnings.push(
        `no --gateway: the BR route has the placeholder ${desired.GATEWAY_PLACEHOLDER}; replace it with the WAN's IPv6 default router (on the router: ip -6 route show default dev ${built.plan.wan})`,
      );
    }
    return built.plan;
  }
  const { observeHost } = await import("../../host/observe.ts");
  const { processRunner } = await import("../../host/command-runner.ts");
  const host = await observeHost(processRunner);
  if (settings.method !== "map-e") {
    const context = desired.planContext(settings, host);
    const decision = await decide(settings, context.prefix, table);
    if (decision.method === "ds-lite") {
      const aftr = await resolveAftr(decision.aftr, settings.resolvers);
      return dsLite.dsLitePlanOnHost(settings, context, host, aftr);
    }
  }
  return desired.desiredPlan(settings, host, table, shippedNotMape()).plan;
}

function writeFiles(dir: string, rendered: Rendered, output: Output): void {
  // every merge first: a boot script that cannot be merged leaves all files as they were
  const writes = rendered.files.map((file) => {
    const path = join(dir, file.path);
    // a file of the user's (VyOS's boot script): only mapectl's block changes, as install does it
    const block = file.block !== undefined && existsSync(path) ? file.block : null;
    const content = block === null ? file.content : withMarkedBlock(readFileSync(path, "utf8"), block, path);
    return { path, content, mode: block === null ? file.mode : null };
  });
  for (const { path, content, mode } of writes) {
    mkdirSync(dirname(path), { recursive: true });
    if (mode === null) {
      writeFileSync(path, content);
    } else {
      writeFileSync(path, content, { mode });
      chmodSync(path, mode);
    }
    output.out(path);
  }
}

async function runRender(flags: RenderFlags, output: Output): Promise<void> {
  const { renderTarget } = await import("../../render/render.ts");
  const warnings: string[] = [];
  const plan = needsPlan(flags.target) ? await planFor(flags, warnings) : null;
  const rendered = renderTarget(flags.target, plan);
  const allWarnings = [...warnings, ...rendered.warnings];
  for (const w of allWarnings) output.err(`mapectl: warning: ${w}`);
  if (flags.json === true) {
    printJson(output, {
      schemaVersion: SCHEMA_VERSION,
      method: plan === null ? null : planMethod(plan),
      target: flags.target,
      files: rendered.files.map((f) => ({ path: f.path, mode: octalMode(f.mode), content: f.content })),
      warnings: allWarnings,
    });
    return;
  }
  if (flags.outputDir !== undefined) {
    writeFiles(flags.outputDir, { ...rendered, warnings: allWarnings }, output);
    return;
  }
  output.out(formatRendered(rendered));
}

export function registerRender(program: Command, output: Output): void {
  addPlanOptions(
    program
      .command("render")
      .summary("print the plan as configuration for VyOS, nftables, a shell script or systemd")
      .description(
        "Turn the plan that `up` would apply into files for another system, changing nothing. With --prefix\n" +
          "it works away from the router (the host is not read; give --wan, and --gateway or fill in the\n" +
          "placeholder); without it, the prefix and the WAN's default router are read from the host as `up` does.\n" +
          "--method ds-lite renders DS-Lite: the AFTR from --aftr or the prefix's service, resolved with --resolver.\n" +
          "--method ipip renders a fixed IPv4 address over IPIP: --ipv4, --br and --interface-id (or [ipip]).",
      ),
  )
    .addOption(
      new Option("--target <target>", "what to render for").choices(RENDER_TARGETS).makeOptionMandatory(),
    )
    .option("--json", `${JSON_HELP} with every file's path, mode and content`)
    .option(
      "--output-dir <dir>",
      "write the files below DIR (each at its path under DIR) instead of printing",
    )
    .action(async (flags: RenderFlags) => {
      await runRender(flags, output);
    });
}
