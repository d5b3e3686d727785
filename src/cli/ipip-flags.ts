import { userProblem } from "../plan/ipip-config.ts";
import type { IpipSettingsFields } from "../plan/settings.ts";
import { secretFileProblem } from "../host/ipip-credentials.ts";
import { parseFixedIpv4, parseInterfaceId } from "../provision/ipip.ts";
import { checkUpdateUrl } from "../provision/ipip-update.ts";
import { CliError } from "./exit-codes.ts";
import type { PlanFlags } from "./plan-options.ts";

function usage<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new CliError("usage", `${flag}: ${(err as Error).message}`);
  }
}

/**
 * IPIP's flags on top of the configuration's [ipip]. There is no password flag: argv is visible to
 * every user of the host (ps, /proc). A configuration file that holds the password must be mode
 * 0600, checked here so that no command runs with a password others may have read.
 */
export function ipipFlags(
  flags: PlanFlags,
  fromFile: IpipSettingsFields,
  configFile: string | null,
): IpipSettingsFields {
  if (fromFile.password !== null && configFile !== null) {
    const problem = secretFileProblem(configFile, "the configuration");
    if (problem !== null) throw new CliError("config", problem);
  }
  const out = { ...fromFile };
  if (flags.ipv4 !== undefined) {
    const text = flags.ipv4;
    usage("--ipv4", () => parseFixedIpv4(text, "--ipv4"));
    out.ipv4 = text;
  }
  if (flags.interfaceId !== undefined) {
    const text = flags.interfaceId;
    out.interfaceId = usage("--interface-id", () => parseInterfaceId(text, "--interface-id"));
  }
  if (flags.updateUrl !== undefined) {
    const text = flags.updateUrl;
    out.updateUrl = usage("--update-url", () => checkUpdateUrl(text, "the template"));
  }
  if (flags.updateUser !== undefined) {
    const why = userProblem(flags.updateUser);
    if (why !== null) throw new CliError("usage", `--update-user ${why}`);
    out.user = flags.updateUser;
  }
  if (flags.credentialsFile !== undefined) out.credentialsFile = flags.credentialsFile;
  return out;
}
