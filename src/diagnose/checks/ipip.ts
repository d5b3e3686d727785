import type { IpipPlan } from "../../plan/ipip-plan.ts";
import type { HostState } from "../../plan/observed.ts";
import type { UpdateRecord } from "../../provision/ipip-update.ts";
import { brRoute as brRouteArgv, ipv4Address } from "../../render/iproute2.ts";
import { shellCommand } from "../../render/shell.ts";
import { ok, same6 } from "../context.ts";
import { sortFindings, type Finding } from "../findings.ts";
import type { RouteLookup } from "../observation.ts";

/** What doctor looked at for an IPIP line mapectl applied; pure data. */
export interface IpipDoctorInput {
  /** The plan applied (state file) or the configuration's; null when neither gives one (up refused). */
  readonly plan: IpipPlan | null;
  /** The configuration's update URL template, null when there is none. */
  readonly updateUrl: string | null;
  readonly host: HostState;
  /** `ip -6 route get <BR>`, null when there is no route at all. */
  readonly brRoute: RouteLookup | null;
  /** The last call of the update URL (state file), null when none was made. */
  readonly lastUpdate: UpdateRecord | null;
  /** Why the account for the update URL is not usable (missing, file readable by others), or null. */
  readonly accountProblem: string | null;
  /** The configuration file the account goes in, for the fix. */
  readonly configFile: string;
}

const REAPPLY = "mapectl up";

function credentials(input: IpipDoctorInput): Finding | null {
  if (input.updateUrl === null) return null;
  if (input.accountProblem === null)
    return ok("ipip.credentials-missing", "the update URL's account is there");
  return {
    id: "ipip.credentials-missing",
    verdict: "fail",
    summary: `the provider's update URL cannot be called: ${input.accountProblem}`,
    evidence: { updateUrl: input.updateUrl, configFile: input.configFile },
    fix: [
      `# put user = "…" and password = "…" under [ipip] in ${input.configFile}, then:`,
      `chmod 600 ${input.configFile}`,
      REAPPLY,
    ],
  };
}

/** The update server's last word: refused (the account), failed (the server), or the old CE address. */
function update(input: IpipDoctorInput): (Finding | null)[] {
  const last = input.lastUpdate;
  if (input.updateUrl === null) return [];
  const ce = input.plan?.ceAddress ?? null;
  const evidence = { lastUpdate: last, ceAddress: ce };
  if (last === null) {
    if (ce === null) return [];
    return [
      {
        id: "ipip.prefix-unregistered",
        verdict: "fail",
        summary: `the update URL was never called for CE ${ce}: the BR drops this CE's packets until the provider has it`,
        evidence,
        fix: [REAPPLY],
      },
    ];
  }
  if (last.kind === "refused") {
    return [
      {
        id: "ipip.update-refused",
        verdict: "fail",
        summary: `the provider's update server refused the account (${last.detail}, ${last.at}): the BR will not carry the fixed address to this CE`,
        evidence,
        fix: [
          `# correct user and password under [ipip] in ${input.configFile} (or its credentials-file), then:`,
          REAPPLY,
        ],
      },
    ];
  }
  if (last.kind === "failed") {
    return [
      ok("ipip.update-refused", "the account was not refused"),
      {
        id: "ipip.update-failed",
        verdict: "fail",
        summary: `the last call of the update URL failed (${last.detail}, ${last.at})`,
        evidence,
        fix: [`# check that the update server is reachable over IPv6 from this router, then:`, REAPPLY],
      },
    ];
  }
  const current = ce === null || same6(last.ceAddress, ce);
  return [
    ok("ipip.update-refused", "the update server accepted the account"),
    current
      ? ok("ipip.prefix-unregistered", `the provider has CE ${last.ceAddress} (${last.at})`, evidence)
      : {
          id: "ipip.prefix-unregistered",
          verdict: "fail",
          summary: `the provider has CE ${last.ceAddress}, not this prefix's ${ce}: the update URL must be called again`,
          evidence,
          fix: [REAPPLY],
        },
  ];
}

function brReachable(input: IpipDoctorInput, plan: IpipPlan): Finding {
  if (input.brRoute !== null)
    return ok("ipip.br-unreachable", `the BR ${plan.br} has a route`, { route: input.brRoute });
  return {
    id: "ipip.br-unreachable",
    verdict: "fail",
    summary: `there is no route to the BR ${plan.br}: nothing can leave through the tunnel`,
    evidence: { br: plan.br, gateway: plan.gateway },
    fix: [shellCommand(brRouteArgv("replace", plan.br, plan.gateway, plan.wan))],
  };
}

function tunnel(input: IpipDoctorInput, plan: IpipPlan): Finding[] {
  const { host } = input;
  const link = host.links.find((l) => l.name === plan.tunnel.name);
  const ends =
    link?.kind === "ip6tnl" &&
    same6(link.tunnel?.local ?? null, plan.ceAddress) &&
    same6(link.tunnel?.remote ?? null, plan.br);
  const tunnelFinding: Finding = ends
    ? ok("ipip.tunnel-missing", `${plan.tunnel.name} leads from ${plan.ceAddress} to ${plan.br}`)
    : {
        id: "ipip.tunnel-missing",
        verdict: "fail",
        summary: `no ip4ip6 tunnel ${plan.tunnel.name} from ${plan.ceAddress} to the BR ${plan.br}`,
        evidence: { tunnel: link ?? null },
        fix: [REAPPLY],
      };
  const has = host.addresses.some(
    (a) => a.family === 4 && a.dev === plan.tunnel.name && a.address === plan.ipv4Address,
  );
  const address: Finding = has
    ? ok("ipip.fixed-address-missing", `${plan.ipv4Address} is on ${plan.tunnel.name}`)
    : {
        id: "ipip.fixed-address-missing",
        verdict: "fail",
        summary: `the fixed address ${plan.ipv4Address} is not on ${plan.tunnel.name}: the router's own IPv4 and the masquerade have no source`,
        evidence: { tunnel: plan.tunnel.name, ipv4: plan.ipv4Address },
        fix: [shellCommand(ipv4Address("add", plan.ipv4Address, 32, plan.tunnel.name))],
      };
  return [tunnelFinding, address];
}

/** Every IPIP check, failures first in the order of CHECK_IDS (the most likely cause of a dead path). */
export function ipipChecks(input: IpipDoctorInput): Finding[] {
  const plan = input.plan;
  const path = plan === null ? [] : [brReachable(input, plan), ...tunnel(input, plan)];
  const all = [credentials(input), ...update(input), ...path];
  return sortFindings(all.filter((f) => f !== null));
}
