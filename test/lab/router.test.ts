import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { debPath } from "../../lab/router-proof.ts";
import { repoRoot } from "../../lab/paths.ts";
import { runScenario } from "../../lab/scenarios/index.ts";
import { router } from "../../lab/scenarios/router.ts";
import { useLab } from "../helpers/lab.ts";

// The one boot of the router system in the suite (and its two reboots): the whole life cycle of the
// .deb on Debian 12 with systemd as PID 1. The image is built once into the lab cache.
const deb = (() => {
  try {
    return debPath(repoRoot());
  } catch {
    return null;
  }
})();
const use = useLab({ ...router.labOptions, needsBundle: true });
// Before the boot: the guest must not see the image appear under its 9p view of the host.
if (use.skip === false && deb !== null) router.beforeBoot?.(repoRoot(), console.log);
const skip = use.skip || (deb === null && "no dist/mapectl_<version>_amd64.deb: npm run build:deb");

test(
  "the router scenario: the .deb on a real router system, from apt install to purge, with reboots",
  { skip, timeout: 1_800_000 },
  async () => {
    assert.ok(deb !== null && existsSync(deb));
    const report = await runScenario(use.lab(), router);
    for (const check of report.checks)
      console.log(`${check.passed ? "ok  " : "FAIL"} ${check.name}: ${check.detail}`);
    console.log(`figures: ${JSON.stringify(report.figures)}`);
    const failed = report.checks.filter((c) => !c.passed);
    assert.deepEqual(failed, [], "every check of the router scenario passes");
    assert.ok(report.checks.length >= 20, `all phases ran (${report.checks.length} checks)`);
  },
);
