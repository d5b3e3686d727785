import assert from "node:assert/strict";
import { test } from "node:test";
import { browserBundles } from "./bundle.ts";

// What the browser may be given: the pure core, the rule tables, resolveParameters, the escapers
// (rule-table errors quote a file's text through them) and the page code.
const ALLOWED = [
  /^src\/mape\/[\w-]+\.ts$/,
  /^src\/base\/[\w-]+\.ts$/,
  /^src\/text\/[\w-]+\.ts$/,
  /^src\/rules\/[\w-]+\.ts$/,
  /^src\/rules\/data\/[\w-]+\.json$/,
  /^src\/provision\/parameters\.ts$/,
  /^src\/web\/(browser\/)?[\w-]+\.ts$/,
];
const NODE_ONLY = ["src/web/pages.ts", "src/web/assets.ts"];

test("the browser bundles hold the core and the page code only, no Node built-in or Node-side module", async () => {
  const bundles = await browserBundles();
  for (const [name, bundle] of Object.entries(bundles)) {
    for (const input of bundle.inputs) {
      assert.ok(
        ALLOWED.some((re) => re.test(input)),
        `${name}.js pulls in ${input}`,
      );
      assert.ok(!NODE_ONLY.includes(input), `${name}.js pulls in ${input}`);
      assert.ok(
        !input.startsWith("node:") && !input.includes("node_modules"),
        `${name}.js pulls in ${input}`,
      );
    }
    assert.doesNotMatch(bundle.js, /\brequire\(|\bprocess\.(env|argv|platform|exit)|\bBuffer\./, name);
  }
  // the calculator really carries the core and the tables
  for (const needed of [
    "src/mape/compute.ts",
    "src/provision/parameters.ts",
    "src/rules/data/mape-rules.json",
  ]) {
    assert.ok(bundles.calc.inputs.includes(needed), `calc.js lacks ${needed}`);
  }
  assert.ok(
    !bundles.status.inputs.includes("src/rules/data/mape-rules.json"),
    "the status page needs no rule table",
  );
});
