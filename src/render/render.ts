import type { MapePlan } from "../plan/plan.ts";
import { renderNftables } from "./nftables.ts";
import { renderShell } from "./shell.ts";
import { DEBIAN_EXECUTABLE, renderNetworkd, renderSystemdUnit } from "./systemd.ts";
import type { Rendered, RenderTarget } from "./targets.ts";
import { renderVyos } from "./vyos.ts";

/** Every target from one plan; pure, so `render` prints exactly what the same plan would apply. */
export function renderTarget(target: RenderTarget, plan: MapePlan | null): Rendered {
  if (target === "systemd-unit") {
    return { files: [renderSystemdUnit({ command: [DEBIAN_EXECUTABLE] })], warnings: [] };
  }
  if (plan === null) throw new Error(`render target ${target} needs a plan`);
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
