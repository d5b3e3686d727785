import { isDsLitePlan, type Plan } from "../plan/method.ts";
import type { DsLitePlan } from "../plan/dslite-plan.ts";
import { renderDsLiteNetworkd, renderDsLiteNftables, renderDsLiteShell } from "./dslite.ts";
import { renderDsLiteVyos } from "./dslite-vyos.ts";
import { renderNftables } from "./nftables.ts";
import { renderShell } from "./shell.ts";
import { DEBIAN_EXECUTABLE, renderNetworkd, renderSystemdUnit } from "./systemd.ts";
import type { Rendered, RenderTarget } from "./targets.ts";
import { renderVyos } from "./vyos.ts";

/** Every target from one plan; pure, so `render` prints exactly what the same plan would apply. */
export function renderTarget(target: RenderTarget, plan: Plan | null): Rendered {
  if (target === "systemd-unit") {
    return { files: [renderSystemdUnit({ command: [DEBIAN_EXECUTABLE] })], warnings: [] };
  }
  if (plan === null) throw new Error(`render target ${target} needs a plan`);
  if (isDsLitePlan(plan)) return renderDsLite(target, plan);
  switch (target) {
    case "vyos":
      return renderVyos(plan);
    case "nftables":
      return {
        files: [{ path: "/etc/mapectl/mapectl.nft", mode: 0o644, content: renderNftables(plan) }],
        warnings: [],
      };
    case "shell":
      return { files: [{ path: "mapectl-up.sh", mode: 0o755, content: renderShell(plan) }], warnings: [] };
    case "systemd-networkd":
      return { files: renderNetworkd(plan), warnings: [] };
  }
}

function renderDsLite(target: Exclude<RenderTarget, "systemd-unit">, plan: DsLitePlan): Rendered {
  switch (target) {
    case "vyos":
      return renderDsLiteVyos(plan);
    case "nftables":
      return {
        files: [{ path: "/etc/mapectl/mapectl.nft", mode: 0o644, content: renderDsLiteNftables(plan) }],
        warnings: [],
      };
    case "shell":
      return {
        files: [{ path: "mapectl-up.sh", mode: 0o755, content: renderDsLiteShell(plan) }],
        warnings: [],
      };
    case "systemd-networkd":
      return { files: renderDsLiteNetworkd(plan), warnings: [] };
  }
}
