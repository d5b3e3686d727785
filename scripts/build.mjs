// Bundles the CLI into one CommonJS file (dist/mapectl.cjs): fast cold start, no node_modules
// needed at run time, and the input for the single-executable build.
import { build } from "esbuild";
import { chmodSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

// The scripts of the web pages (mapectl serve): bundled for the browser first and handed to the
// CLI build as string constants, so the CLI stays one file that reads no asset at run time.
// platform "browser" fails the build if the core ever pulls in a Node built-in.
const web = await build({
  entryPoints: { status: "src/web/browser/status-page.ts", calc: "src/web/browser/calc-page.ts" },
  bundle: true,
  platform: "browser",
  format: "iife",
  target: ["chrome109", "firefox115", "safari15.6"],
  minify: true,
  charset: "utf8",
  write: false,
  outdir: "dist/web",
  legalComments: "none",
  logLevel: "warning",
});
const webScript = (name) => {
  const file = web.outputFiles.find((f) => f.path.endsWith(`/${name}.js`));
  if (file === undefined) throw new Error(`build: no browser bundle ${name}.js`);
  return JSON.stringify(file.text);
};

await build({
  entryPoints: ["src/cli/bin.ts"],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outfile: "dist/mapectl.cjs",
  banner: { js: "#!/usr/bin/env node" },
  define: {
    MAPECTL_VERSION: JSON.stringify(pkg.version),
    MAPECTL_WEB_STATUS_JS: webScript("status"),
    MAPECTL_WEB_CALC_JS: webScript("calc"),
  },
  legalComments: "none",
  logLevel: "warning",
});
chmodSync("dist/mapectl.cjs", 0o755);
