import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { calcPage, inlineSafe, statusPage, type Page } from "../../../src/web/pages.ts";
import { browserBundles } from "./bundle.ts";

function hashOf(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

function inline(html: string, tag: "script" | "style"): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1] ?? "");
}

function checkPage(name: string, page: Page): void {
  const scripts = inline(page.html, "script");
  const styles = inline(page.html, "style");
  assert.equal(scripts.length, 1, `${name}: one inline script`);
  assert.equal(styles.length, 1, `${name}: one inline stylesheet`);
  const directive = (key: string) => page.csp.split("; ").find((d) => d.startsWith(`${key} `));
  assert.equal(directive("script-src"), `script-src ${hashOf(scripts[0] ?? "")}`, name);
  assert.equal(directive("style-src"), `style-src ${hashOf(styles[0] ?? "")}`, name);
  assert.equal(directive("default-src"), "default-src 'none'", name);
  assert.equal(directive("frame-ancestors"), "frame-ancestors 'none'", name);
  assert.equal(directive("require-trusted-types-for"), "require-trusted-types-for 'script'", name);
  const markup = page.html
    .replace(/<script>[\s\S]*?<\/script>/g, "")
    .replace(/<style>[\s\S]*?<\/style>/g, "");
  assert.doesNotMatch(markup, /<[^>]*\son[a-z]+\s*=/i, `${name}: an inline event handler`);
  assert.doesNotMatch(
    markup,
    /<script\s[^>]*src|<link[^>]*stylesheet|<iframe|<img/i,
    `${name}: an external asset`,
  );
  for (const m of markup.matchAll(/\s(?:src|href|action)="([^"]*)"/g)) {
    assert.match(m[1] ?? "", /^(\/[\w/]*|data:,?)$/, `${name}: ${m[0]} leaves the page`);
  }
  assert.match(page.html, /<meta http-equiv="Content-Security-Policy"/);
}

test("both pages with the real bundles: hashes in the policy match, no handlers, nothing external", async () => {
  const bundles = await browserBundles();
  checkPage("status", statusPage(bundles.status.js));
  checkPage("calc", calcPage(bundles.calc.js));
  assert.match(calcPage(bundles.calc.js).csp, /connect-src 'none'/, "the calculator needs no network");
  assert.match(statusPage(bundles.status.js).csp, /connect-src 'self'/);
});

test("a script cannot end its own inline block early", () => {
  const js = `var a="</script><b>",b="</SCRIPT >",c="<!-- x";`;
  const safe = inlineSafe(js);
  assert.doesNotMatch(safe, /<\/script/i);
  assert.doesNotMatch(safe, /<!--/);
  // still the same strings to JavaScript
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const run = new Function(`${safe} return [a,b,c];`) as () => string[];
  assert.deepEqual(run(), ["</script><b>", "</SCRIPT >", "<!-- x"]);
  assert.equal(inline(statusPage(js).html, "script").length, 1);
});
