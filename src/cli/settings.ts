import { existsSync } from "node:fs";
import { interfaceNameProblem } from "../plan/interface-name.ts";
import { readTextFile } from "../host/files.ts";
import { gatewayAddress, parseConfig, parseForwardTarget } from "../plan/config.ts";
import { DEFAULT_SETTINGS, defaultSource, type Settings } from "../plan/settings.ts";
import { parseManualRule, parseRuleFields } from "../rules/rule-spec.ts";
import { isEverySource } from "./common-options.ts";
import { CliError } from "./exit-codes.ts";
import { METHOD_CHOICES, unsupportedMethod } from "../plan/method.ts";
import { aftrFromText } from "../provision/dslite.ts";
import { ipipFlags } from "./ipip-flags.ts";

import { DEFAULT_CONFIG, type PlanFlags } from "./plan-options.ts";

function integer(text: string, flag: string): number {
  if (!/^[0-9]{1,10}$/.test(text)) throw new CliError("usage", `${flag} ${text} is not a whole number`);
  return Number(text);
}

function parseForwardFlag(text: string): Settings["forwards"][number] {
  const match = /^(tcp|udp)\/([0-9]{1,5})=(.+)$/.exec(text);
  if (match === null) throw new CliError("usage", `--forward "${text}" is not tcp|udp/PORT=ADDRESS[:PORT]`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535)
    throw new CliError("usage", `--forward "${text}": port ${port} is out of range`);
  try {
    return {
      protocol: match[1] as "tcp" | "udp",
      port,
      ...parseForwardTarget(match[3] ?? "", port, "--forward"),
    };
  } catch (err) {
    throw new CliError("usage", (err as Error).message);
  }
}

function methodFlag(text: string): Settings["method"] {
  const method = METHOD_CHOICES.find((m) => m === text);
  if (method === undefined)
    throw new CliError(
      "usage",
      `--method must be one of ${METHOD_CHOICES.join(", ")}, not "${text.slice(0, 40)}"`,
    );
  const why = unsupportedMethod(method);
  if (why !== null) throw new CliError("usage", `--method: ${why}`);
  return method;
}

/** Config file first, then the command line on top. */
export function settingsFrom(flags: PlanFlags): { settings: Settings; configFile: string | null } {
  const settings: Settings = { ...DEFAULT_SETTINGS, overrides: {}, lan: [], forwards: [], rulesFiles: [] };
  let configFile: string | null = null;
  const path = flags.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : null);
  let sourceGiven = flags.source !== undefined || flags.rule !== undefined;
  if (path !== null) {
    const config = parseConfig(readTextFile(path, "configuration"), path);
    sourceGiven ||= config.source !== undefined;
    Object.assign(settings, config);
    configFile = path;
  }
  // Checked here, before any command reads the host: `render` and `up` refuse a bad name alike.
  for (const [flag, name] of [
    ["--wan", flags.wan],
    ["--tunnel-name", flags.tunnelName],
    ...(flags.lan ?? []).map((l) => ["--lan", l] as const),
  ] as const) {
    const problem = name === undefined ? null : interfaceNameProblem(flag, name);
    if (problem !== null) throw new CliError("usage", problem);
  }
  if (flags.wan !== undefined) settings.wan = flags.wan;
  if (flags.lan !== undefined) settings.lan = flags.lan;
  if (flags.prefix !== undefined) settings.prefix = flags.prefix;
  if (flags.source !== undefined) {
    const sources = ["tables", "manual", "auto", "hb46pp", "dhcpv6"] as const;
    const source = isEverySource(flags.source) ? "auto" : sources.find((s) => s === flags.source);
    if (source === undefined) throw new CliError("usage", `--source must be one of ${sources.join(", ")}`);
    settings.source = source;
  }
  if (flags.method !== undefined) settings.method = methodFlag(flags.method);
  if (!sourceGiven) settings.source = defaultSource(settings.method);
  if (flags.aftr !== undefined) {
    try {
      aftrFromText(flags.aftr, "configuration");
    } catch (err) {
      throw new CliError("usage", `--aftr: ${(err as Error).message}`);
    }
    settings.aftr = flags.aftr;
  }
  if (flags.resolver !== undefined) settings.resolvers = flags.resolver;
  if (flags.caFile !== undefined) settings.caFile = flags.caFile;
  if (flags.rule !== undefined) {
    settings.rule = parseManualRule(flags.rule);
    settings.source = "manual";
  }
  if (flags.rulesFile !== undefined) settings.rulesFiles = [...settings.rulesFiles, ...flags.rulesFile];
  if (flags.override !== undefined)
    settings.overrides = { ...settings.overrides, ...parseRuleFields(flags.override, "--override") };
  if (flags.br !== undefined) settings.overrides = { ...settings.overrides, br: flags.br };
  if (flags.iid !== undefined) settings.interfaceId = flags.iid;
  if (flags.tunnelName !== undefined) settings.tunnelName = flags.tunnelName;
  if (flags.mtu !== undefined) settings.mtu = integer(flags.mtu, "--mtu");
  if (flags.gateway !== undefined) settings.gateway = gatewayAddress(flags.gateway, "--gateway");
  if (flags.metric !== undefined) settings.defaultRouteMetric = integer(flags.metric, "--metric");
  if (flags.replaceDefault === true) settings.replaceDefault = true;
  if (flags.tunnelOwner !== undefined) {
    if (flags.tunnelOwner !== "mapectl" && flags.tunnelOwner !== "vyos")
      throw new CliError("usage", `--tunnel-owner must be mapectl or vyos, not "${flags.tunnelOwner}"`);
    settings.tunnelOwner = flags.tunnelOwner;
  }
  if (flags.tcpTimeWait !== undefined) settings.tcpTimeWait = integer(flags.tcpTimeWait, "--tcp-time-wait");
  if (flags.allocator !== undefined) {
    if (flags.allocator !== "auto" && flags.allocator !== "fold" && flags.allocator !== "round-robin")
      throw new CliError("usage", `--allocator must be auto, fold or round-robin, not "${flags.allocator}"`);
    settings.allocator = flags.allocator;
  }
  if (flags.maxPortsPerHost !== undefined)
    settings.maxPortsPerHost = integer(flags.maxPortsPerHost, "--max-ports-per-host");
  if (flags.forward !== undefined)
    settings.forwards = [...settings.forwards, ...flags.forward.map(parseForwardFlag)];
  settings.ipip = ipipFlags(flags, settings.ipip, configFile);
  return { settings, configFile };
}
