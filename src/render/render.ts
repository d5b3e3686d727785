import { isDsLitePlan, isIpipPlan, type Plan } from "../plan/method.ts";
import type { IpipPlan } from "../plan/ipip-plan.ts";
import { renderIpipNetworkd, renderIpipNftables, renderIpipShell, renderIpipVyos } from "./ipip.ts";
import type { DsLitePlan } from "../plan/dslite-plan.ts";
import type { MapePlan } from "../plan/plan.ts";
import { renderDsLiteNetworkd, renderDsLiteNftables, renderDsLiteShell } from "./dslite.ts";
import { renderDsLiteVyos } from "./dslite-vyos.ts";
import { renderNftables } from "./nftables.ts";
import { renderShell } from "./shell.ts";
import { DEBIAN_EXECUTABLE, renderNetworkd, renderSystemdUnit } from "./systemd.ts";
import type { Rendered, RenderedFile, RenderTarget } from "./targets.ts";
import { renderVyos } from "./vyos.ts";

/** One method's renderer for each target that depends on the plan. */
interface MethodRenderers<P> {
  readonly vyos: (plan: P) => Rendered;
  readonly nftables: (plan: P) => string;
  readonly shell: (plan: P) => string;
  readonly networkd: (plan: P) => readonly RenderedFile[];
}

const MAP_E: MethodRenderers<MapePlan> = {
  vyos: renderVyos,
  nftables: renderNftables,
  shell: renderShell,
  networkd: renderNetworkd,
};

const DS_LITE: MethodRenderers<DsLitePlan> = {
  vyos: renderDsLiteVyos,
  nftables: renderDsLiteNftables,
  shell: renderDsLiteShell,
  networkd: renderDsLiteNetworkd,
};

const IPIP: MethodRenderers<IpipPlan> = {
  vyos: renderIpipVyos,
  nftables: renderIpipNftables,
  shell: renderIpipShell,
  networkd: renderIpipNetworkd,
};

/** mapectl's nft table for any method's plan: what `up` loads and `status` compares. */
export function renderPlanTable(plan: Plan): string {
  if (isDsLitePlan(plan)) return DS_LITE.nftables(plan);
  if (isIpipPlan(plan)) return IPIP.nftables(plan);
  return MAP_E.nftables(plan);
}

/** Every target from one plan; pure, so `render` prints exactly what the same plan would apply. */
export function renderTarget(target: RenderTarget, plan: Plan | null): Rendered {
  if (target === "systemd-unit") {
    return { files: [renderSystemdUnit({ command: [DEBIAN_EXECUTABLE] })], warnings: [] };
  }
  if (plan === null) throw new Error(`render target ${target} needs a plan`);
  if (isDsLitePlan(plan)) return renderWith(target, plan, DS_LITE);
  if (isIpipPlan(plan)) return renderWith(target, plan, IPIP);
  return renderWith(target, plan, MAP_E);
}

function renderWith<P>(
  target: Exclude<RenderTarget, "systemd-unit">,
  plan: P,
  r: MethodRenderers<P>,
): Rendered {
  switch (target) {
    case "vyos":
      return r.vyos(plan);
    case "nftables":
      return {
        files: [{ path: "/etc/mapectl/mapectl.nft", mode: 0o644, content: r.nftables(plan) }],
        warnings: [],
      };
    case "shell":
      return { files: [{ path: "mapectl-up.sh", mode: 0o755, content: r.shell(plan) }], warnings: [] };
    case "systemd-networkd":
      return { files: r.networkd(plan), warnings: [] };
  }
}
