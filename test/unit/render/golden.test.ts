import assert from "node:assert/strict";
import { test } from "node:test";
import { renderTarget } from "../../../src/render/render.ts";
import { formatRendered, RENDER_TARGETS, type RenderTarget } from "../../../src/render/targets.ts";
import { assertGolden } from "../../helpers/golden.ts";
import { CASES, casePlan, DS_LITE_CASES } from "./cases.ts";

const EXTENSION: Record<RenderTarget, string> = {
  vyos: "vyos.txt",
  nftables: "nft",
  shell: "sh",
  "systemd-networkd": "networkd.txt",
  "systemd-unit": "service",
};

// The user's router (BIGLOBE /56, WAN eth1, LAN eth2, the NGN gateway) and an OCN line: every
// target, as `mapectl render` prints it.
for (const [name, prefix] of Object.entries(CASES)) {
  for (const target of RENDER_TARGETS) {
    test(`${name}: render --target ${target} matches test/golden/render/${name}.${EXTENSION[target]}`, () => {
      const rendered = renderTarget(target, casePlan(prefix));
      assert.deepEqual(rendered.warnings, []);
      assertGolden(`render/${name}.${EXTENSION[target]}`, formatRendered(rendered));
    });
  }
}

// DS-Lite: a transix line on the router, and a line rendered away from it (the placeholder).
for (const [name, plan] of Object.entries(DS_LITE_CASES)) {
  // systemd-unit does not depend on the plan: the MAP-E cases cover it.
  for (const target of RENDER_TARGETS.filter((t) => t !== "systemd-unit")) {
    test(`${name}: render --method ds-lite --target ${target} matches test/golden/render/${name}.${EXTENSION[target]}`, () => {
      const rendered = renderTarget(target, plan());
      assert.deepEqual(rendered.warnings, []);
      assertGolden(`render/${name}.${EXTENSION[target]}`, formatRendered(rendered));
    });
  }
}

test("renderers are pure: the same plan gives the same text, and the plan is not changed", () => {
  const plan = casePlan(CASES.user);
  const before = JSON.stringify(plan);
  for (const target of RENDER_TARGETS) {
    assert.equal(
      formatRendered(renderTarget(target, plan)),
      formatRendered(renderTarget(target, casePlan(CASES.user))),
    );
  }
  assert.equal(JSON.stringify(plan), before);
});
