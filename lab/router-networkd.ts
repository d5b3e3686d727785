import { join } from "node:path";
import type { Lab } from "./lab.ts";
import { lastLine, waitForIpv4 } from "./router-proof.ts";
import type { RouterSystem } from "./router-system.ts";
import type { Checks } from "./scenarios/scenario.ts";

interface RenderedFile {
  readonly path: string;
  readonly mode: string;
  readonly content: string;
}

/** `mapectl render --target systemd-networkd` on the router, read from its host as up would. */
export async function renderNetworkd(router: RouterSystem, checks: Checks): Promise<RenderedFile[]> {
  const r = await router.exec(["mapectl", "render", "--target", "systemd-networkd", "--json"], {
    timeoutMs: 60_000,
  });
  const ok = checks.add(
    "mapectl render --target systemd-networkd",
    r.code === 0,
    lastLine(r.stderr) || "rendered",
  );
  return ok ? (JSON.parse(r.stdout) as { files: RenderedFile[] }).files : [];
}

/**
 * The WAN already has its .network (the image's 20-wan.network, with DHCPv6-PD), and networkd uses
 * only the first file that matches: as the render's own comment says, its WAN sections go into a
 * drop-in for that file.
 */
function asInstalled(file: RenderedFile): RenderedFile {
  const wan = /^\/etc\/systemd\/network\/10-mapectl-(\S+)\.network$/.exec(file.path);
  if (wan === null) return file;
  const content = file.content.replace(/^\[Match\]\n(?:[^[\n].*\n)*\n?/m, "");
  return { ...file, path: "/etc/systemd/network/20-wan.network.d/mapectl.conf", content };
}

/** The rendered files alone (no mapectl on the router any more), then a reboot: MAP-E comes up by networkd. */
export async function networkdAlone(
  lab: Lab,
  router: RouterSystem,
  checks: Checks,
  files: readonly RenderedFile[],
): Promise<void> {
  if (files.length === 0) return;
  for (const file of files.map(asInstalled)) {
    await lab.guest.writeFile(
      join(router.image.root, file.path),
      file.content,
      Number.parseInt(file.mode, 8),
    );
  }
  const enable = await router.exec(["systemctl", "enable", "mapectl-nft.service"]);
  checks.add("the render's NAPT unit enabled", enable.code === 0, lastLine(enable.stdout, enable.stderr));
  await router.reboot();
  const seconds = await waitForIpv4(lab, 120_000);
  const daemon = await router.exec(["sh", "-c", "command -v mapectl || systemctl is-active mapectl"]);
  const tunnel = await router.exec(["networkctl", "status", "--no-pager", "mape"]);
  checks.add(
    "networkd render alone: MAP-E up after a reboot, no daemon",
    seconds !== null && daemon.code !== 0,
    seconds === null
      ? `no ping through in 120 s; ${lastLine(tunnel.stdout, tunnel.stderr)}`
      : `first ping through ${seconds.toFixed(1)} s after the boot finished; mapectl ${daemon.stdout.trim() || "not installed"}; ${/State: .*/.exec(tunnel.stdout)?.[0] ?? ""}`,
  );
}
