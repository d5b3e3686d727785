import assert from "node:assert/strict";
import { test } from "node:test";
import { renderTarget } from "../../../src/render/render.ts";
import { formatRendered, RENDER_TARGETS, type RenderTarget } from "../../../src/render/targets.ts";
import { assertGolden } from "../../helpers/golden.ts";
import { applyDiff, lineDiff } from "../../helpers/golden-diff.ts";
import { CASES, casePlan, DS_LITE_CASES, IPIP_CASES } from "./cases.ts";

const EXTENSION: Record<RenderTarget, string> = {
  vyos: "vyos.txt",
  nftables: "nft",
  shell: "sh",
  "systemd-networkd": "networkd.txt",
  "systemd-unit": "service",
};

// The user's router (BIGLOBE /56, WAN eth1, LAN eth2, the NGN gateway) and an OCN line: every
// target, as `mapectl render` prints it. The same renderer with another line's parameters: the OCN
// goldens are kept as their difference from the user's (render/ocn.<ext>.diff).
for (const [name, prefix] of Object.entries(CASES)) {
  for (const target of RENDER_TARGETS) {
    const golden = (of: string) => `render/${of}.${EXTENSION[target]}`;
    test(`${name}: render --target ${target} matches test/golden/${golden(name)}`, () => {
      const rendered = renderTarget(target, casePlan(prefix));
      assert.deepEqual(rendered.warnings, []);
      assertGolden(golden(name), formatRendered(rendered), name === "user" ? undefined : golden("user"));
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
      // the line away from the router is kept as its difference from the one on it
      const base = name === "ds-lite" ? undefined : `render/ds-lite.${EXTENSION[target]}`;
      assertGolden(`render/${name}.${EXTENSION[target]}`, formatRendered(rendered), base);
    });
  }
}

// IPIP: a fixed address from the provider's sheet on the router, and a routed block from HB46PP
// rendered away from it (the gateway placeholder), kept as its difference from the first.
for (const [name, plan] of Object.entries(IPIP_CASES)) {
  for (const target of RENDER_TARGETS.filter((t) => t !== "systemd-unit")) {
    test(`${name}: render --method ipip --target ${target} matches test/golden/render/${name}.${EXTENSION[target]}`, () => {
      const rendered = renderTarget(target, plan());
      assert.deepEqual(rendered.warnings, []);
      const base = name === "ipip" ? undefined : `render/ipip.${EXTENSION[target]}`;
      assertGolden(`render/${name}.${EXTENSION[target]}`, formatRendered(rendered), base);
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

test("a golden kept as a diff: the hunks diff -U0 prints, applied back exactly, refused on a changed base", () => {
  const base = "a\nb\nc\nd\n";
  for (const [target, hunks] of [
    ["a\nB\nc\nd\ne\n", "@@ -2 +2 @@\n-b\n+B\n@@ -4,0 +5 @@\n+e\n"],
    ["x\na\nc\n", "@@ -0,0 +1 @@\n+x\n@@ -2 +2,0 @@\n-b\n@@ -4 +3,0 @@\n-d\n"],
    [base, ""],
  ] as const) {
    assert.equal(lineDiff(base, target), hunks);
    assert.equal(applyDiff(base, hunks), target);
  }
  assert.throws(() => applyDiff("a\nX\nc\nd\n", "@@ -2 +2 @@\n-b\n+B\n"), /line 2 of its base is not "-b"/);
});
