import type { IpipPlan } from "../../plan/ipip-plan.ts";
import type { Settings } from "../../plan/settings.ts";

/**
 * IPIP's plan for render: the parameters from the settings ([ipip], --ipv4, --br, --interface-id),
 * away from the router with --prefix, else with the prefix and gateway read from the host.
 */
export async function ipipRenderPlan(settings: Settings, warnings: string[]): Promise<IpipPlan> {
  const ipip = await import("../../plan/desired-ipip.ts");
  const params = ipip.ipipParameters(settings, null);
  if (settings.prefix !== null) {
    const built = ipip.ipipPlanWithoutHost(settings, params);
    if (built.gatewayMissing) {
      const { GATEWAY_PLACEHOLDER } = await import("../../plan/desired.ts");
      warnings.push(
        `no --gateway: the BR route has the placeholder ${GATEWAY_PLACEHOLDER}; replace it with the WAN's IPv6 default router (on the router: ip -6 route show default dev ${built.plan.wan})`,
      );
    }
    return built.plan;
  }
  const { observeHost } = await import("../../host/observe.ts");
  const { processRunner } = await import("../../host/command-runner.ts");
  const { planContext } = await import("../../plan/desired.ts");
  const host = await observeHost(processRunner);
  return ipip.ipipPlanOnHost(settings, planContext(settings, host), params);
}
