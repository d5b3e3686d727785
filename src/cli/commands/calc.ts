import { JSON_HELP } from "../common-options.ts";
import type { Command } from "commander";
import type { InterfaceIdLayout } from "../../mape/interface-id.ts";
import { formatIpv4, formatIpv4Prefix } from "../../mape/ipv4.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6Prefix } from "../../mape/ipv6.ts";
import type { MapRuleSpec } from "../../mape/rule.ts";
import { calcJson, resolveParameters, type ResolvedParameters } from "../../provision/parameters.ts";
import { parseManualRule, parseRuleFields } from "../../rules/rule-spec.ts";
import { loadRuleTables } from "../rule-tables.ts";
import { shippedNotMape } from "../../rules/shipped.ts";
import { collect, interfaceIdOption } from "../common-options.ts";
import { formatFields, formatGrid, printJson, type Output } from "../output.ts";

interface CalcOptions {
  json?: boolean;
  rule?: string;
  iid?: InterfaceIdLayout;
  br?: string;
  override?: string;
  rulesFile?: string[];
}

const SOURCE_TEXT = {
  tables: "shipped rule table",
  manual: "manual rule",
  hb46pp: "HB46PP provisioning",
  dhcpv6: "DHCPv6 S46",
} as const;

export function describeHuman(resolved: ResolvedParameters): string {
  const { params, service } = resolved;
  const rule = params.rule;
  const psidHex = `0x${params.psid.toString(16)}`;
  const ipv4 =
    params.ipv4PrefixLength === 32
      ? formatIpv4(params.ipv4Address)
      : `${formatIpv4(params.ipv4Address)}/${params.ipv4PrefixLength} (shared IPv4 prefix)`;
  const blocks = params.portSets.length;
  const blockSize = params.portSets[0] === undefined ? 0 : params.portSets[0][1] - params.portSets[0][0] + 1;
  const rows: [string, string][] = [
    [
      "rule",
      `${formatIpv6Prefix(rule.ipv6Prefix)} → ${formatIpv4Prefix(rule.ipv4Prefix)}, EA bits ${rule.eaBits}, PSID offset ${rule.psidOffset}, PSID length ${rule.psidLength}`,
    ],
    ["IPv4 address", ipv4],
    ["PSID", `${params.psid} (${psidHex})`],
    ["CE address", `${formatIpv6(params.ceAddress)} (${params.interfaceId} interface ID)`],
    ["BR", rule.br === null ? "unknown: give it with --br" : formatIpv6(rule.br)],
    [
      "ports",
      rule.psidLength === 0
        ? "all 65536 (no port sharing)"
        : `${params.portCount} in ${blocks} block${blocks === 1 ? "" : "s"} of ${blockSize}`,
    ],
  ];
  const source =
    resolved.rulesFile === undefined ? SOURCE_TEXT[resolved.source] : `rules file ${resolved.rulesFile}`;
  const overridden = resolved.overridden.length > 0 ? `, overridden: ${resolved.overridden.join(", ")}` : "";
  const head = `${formatIpv6Prefix(params.endUserPrefix)}: ${service?.name ?? "no known service"} (${source}${overridden})`;
  const lines = [head, formatFields(rows)];
  if (rule.psidLength > 0) {
    lines.push(
      formatGrid(
        params.portSets.map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`)),
        5,
      ),
    );
  }
  for (const warning of params.warnings) lines.push(`warning: ${warning}`);
  return lines.join("\n");
}

function overridesFrom(options: CalcOptions): Partial<MapRuleSpec> | undefined {
  const overrides: Partial<MapRuleSpec> =
    options.override === undefined ? {} : parseRuleFields(options.override, "--override");
  if (options.br !== undefined) overrides.br = options.br;
  return Object.keys(overrides).length > 0 ? overrides : undefined;
}

export function registerCalc(program: Command, output: Output): void {
  program
    .command("calc")
    .summary("compute the MAP-E parameters of a delegated prefix")
    .description(
      "Compute IPv4 address, PSID, port sets, CE address and BR from the IPv6 prefix delegated to the line\n" +
        "(or the /64 of a line without prefix delegation), using the shipped rule tables or a manual rule.",
    )
    .argument("<prefix>", "the delegated prefix, e.g. 2404:7a82:4d02:4100::/56")
    .option("--json", JSON_HELP)
    .option(
      "--rule <spec>",
      "a manual rule instead of the tables: ipv6-prefix=P/L,ipv4-prefix=A/L,ea-bits=N,psid-offset=N[,psid-length=N][,br=ADDR]",
    )
    .addOption(interfaceIdOption("CE interface-ID layout (default: the service's, else draft-03)"))
    .option("--br <address>", "use this BR address instead of the rule's")
    .option("--override <spec>", "replace fields of the matched rule, same keys as --rule")
    .option(
      "--rules-file <file>",
      "add rules from a JSON file (repeatable); they win over shipped rules",
      collect,
      [],
    )
    .action((prefixText: string, options: CalcOptions) => {
      const resolved = resolveParameters({
        prefix: parseIpv6Prefix(prefixText),
        table: loadRuleTables(options.rulesFile ?? []),
        notMape: shippedNotMape(),
        manualRule: options.rule === undefined ? undefined : parseManualRule(options.rule),
        overrides: overridesFrom(options),
        interfaceId: options.iid,
      });
      if (options.json === true) printJson(output, calcJson(resolved));
      else output.out(describeHuman(resolved));
    });
}
