import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { processRunner, type CommandRunner } from "../host/command-runner.ts";
import { HostError } from "../host/errors.ts";
import { observeHost } from "../host/observe.ts";
import { formatIpv4 } from "../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix } from "../mape/ipv6.ts";
import { detectPrefix, expectedParameters } from "../plan/desired.ts";
import { DEFAULT_SETTINGS } from "../plan/settings.ts";
import { guessInterfaces, renderStarterConfig } from "../plan/starter-config.ts";
import { shippedNotMape } from "../rules/shipped.ts";
import { CliError } from "./exit-codes.ts";
import type { InitFlags } from "./commands/init.ts";
import type { Output } from "./output.ts";
import { DEFAULT_CONFIG } from "./plan-options.ts";
import { loadRuleTables } from "./rule-tables.ts";

export async function runInit(
  flags: InitFlags,
  output: Output,
  runner: CommandRunner = processRunner,
): Promise<void> {
  const path = flags.config ?? DEFAULT_CONFIG;
  if (flags.dryRun !== true && existsSync(path) && flags.force !== true) {
    throw new CliError(
      "config",
      `${path} already exists; keep it, or run mapectl init --force to overwrite it`,
    );
  }
  const host = await observeHost(runner);
  const { wan, lan } = guessInterfaces(host);
  const detected = wan === null ? null : detectPrefix(host, wan, lan);
  let parametersNote: string | null = null;
  if (detected !== null) {
    try {
      // The parameters up would use with the starter configuration written here.
      const { resolved: r } = expectedParameters(
        DEFAULT_SETTINGS,
        detected,
        loadRuleTables([]),
        shippedNotMape(),
      );
      parametersNote = `${r.service?.name ?? "?"}, IPv4 ${formatIpv4(r.params.ipv4Address)}, PSID ${r.params.psid}, ${r.params.portCount} ports, BR ${r.params.rule.br === null ? "?" : formatIpv6(r.params.rule.br)}`;
    } catch (err) {
      parametersNote = (err as Error).message;
    }
  }
  const text = renderStarterConfig({
    wan,
    lan,
    prefixNote: detected === null ? null : `${formatIpv6Prefix(detected.prefix)}, ${detected.how}`,
    parametersNote,
  });
  if (flags.dryRun === true) {
    output.out(text);
    return;
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: 0o644 });
  } catch (err) {
    throw new HostError("NOT_ROOT", `cannot write ${path}: ${(err as Error).message}`);
  }
  output.out(
    `wrote ${path} (WAN ${wan ?? "not detected"}, LAN ${lan.join(", ") || "none"}); review it, then run mapectl up`,
  );
}
