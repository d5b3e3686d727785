import { DEFAULT_PREFIX } from "../addresses.ts";
import type { Lab } from "../lab.ts";
import { prepareRouterImage } from "../router-image.ts";
import { prefixChange, rebootProof, removeAndPurge, restartUpgradeStop } from "../router-lifecycle.ts";
import { networkdAlone, renderNetworkd } from "../router-networkd.ts";
import { installAndEnable, unitHealth } from "../router-proof.ts";
import { RouterSystem } from "../router-system.ts";
import { Checks, nonZero, type Scenario, type ScenarioResult } from "./scenario.ts";

/** The second BIGLOBE prefix the line moves to (another IPv4 and PSID of the same rule). */
export const ROUTER_SECOND_PREFIX = "2404:7a82:4d03:4200::/56";

/**
 * The whole life of mapectl on a real Debian 12 router system (lab/router-system.ts): the .deb by
 * apt, install, enable, IPv4 through the strict BR; the unit's health, journal and exposure; a
 * reboot with its figures; a prefix change under the unit; restart, upgrade and stop without a cut;
 * remove and purge; then the systemd-networkd render alone across a reboot.
 */
export const router: Scenario = {
  name: "router",
  method: "map-e",
  summary:
    "the .deb on a real Debian 12 router system (systemd PID 1, no Node): install, enable, reboot, prefix change, restart, upgrade, stop, remove, purge, networkd render alone",
  labOptions: { ceDhcpClient: false, strictEncapLimit: true },
  beforeBoot: (repo, log) => {
    prepareRouterImage(repo, log);
  },
  async run(lab: Lab): Promise<ScenarioResult> {
    const checks = new Checks();
    const image = prepareRouterImage(lab.repo);
    const system = new RouterSystem(lab, image);
    const figures: Record<string, number | null> = {};
    const started = Date.now();
    await system.powerOn();
    figures.firstBootSeconds = (Date.now() - started) / 1000;
    figures.imageBuildSeconds = image.buildSeconds;
    try {
      if (await installAndEnable(lab, system, checks)) {
        figures.exposure = await unitHealth(lab, system, checks);
        const reboot = await rebootProof(lab, system, checks);
        Object.assign(figures, reboot);
        await prefixChange(lab, system, checks, ROUTER_SECOND_PREFIX);
        await restartUpgradeStop(lab, system, checks);
        const files = await renderNetworkd(system, checks);
        await removeAndPurge(system, checks);
        await networkdAlone(lab, system, checks, files);
      }
    } catch (err) {
      checks.add("the router system", false, `${(err as Error).message}\n${await system.consoleTail(15)}`);
    } finally {
      if (lab.prefix !== DEFAULT_PREFIX)
        await lab.isp.setPrefix(DEFAULT_PREFIX, 120_000).catch(() => undefined);
    }
    return { ...checks.report("router", lab, nonZero(await lab.isp.counters())), figures };
  },
};
