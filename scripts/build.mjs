// Bundles the CLI (CommonJS, no node_modules needed at run time): dist/mapectl.cjs with its lazily
// loaded parts in dist/lib/, and dist/mapectl-single.cjs, everything in one file for the SEA.
import { build, transform } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { webBuildOptions } from "./web-build-config.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

// The scripts of the web pages (mapectl serve): bundled for the browser first and handed to the
// CLI build as string constants, so the CLI stays one file that reads no asset at run time.
const web = await build(webBuildOptions);
const webScript = (name) => {
  const file = web.outputFiles.find((f) => f.path.endsWith(`/${name}.js`));
  if (file === undefined) throw new Error(`build: no browser bundle ${name}.js`);
  return JSON.stringify(file.text);
};

const define = {
  MAPECTL_VERSION: JSON.stringify(pkg.version),
  MAPECTL_WEB_STATUS_JS: webScript("status"),
  MAPECTL_WEB_CALC_JS: webScript("calc"),
};
const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  define,
  legalComments: "none",
  logLevel: "warning",
};

// One file with everything: the input of the single executable (SEA), which can load nothing else.
await build({ ...common, entryPoints: ["src/cli/bin.ts"], outfile: "dist/mapectl-single.cjs" });

// What users run: dist/mapectl.cjs, the command line, and in dist/lib/ each lazily imported module
// (`await import()` in a command's action) plus every module shared between them, each module in
// exactly one file, so that `mapectl calc` parses only what calc needs and a class is the same
// class wherever it is used (errors are told apart with instanceof).
// esbuild splits only ES modules; each output file is then turned into CommonJS, because Node's
// ES module loader costs more per process start than require() (bench/calc-startup.ts).
rmSync("dist/lib", { recursive: true, force: true });
const split = await build({
  ...common,
  format: "esm",
  splitting: true,
  entryPoints: { mapectl: "src/cli/bin.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  chunkNames: "lib/[name]-[hash]",
  write: false,
});
for (const file of split.outputFiles) {
  const { code } = await transform(file.text, {
    format: "cjs",
    platform: "node",
    target: "node20",
    // import() becomes require(), so no ES module loader starts at all
    supported: { "dynamic-import": false },
    // less text to parse on every start
    minify: true,
    legalComments: "none",
  });
  const entry = file.path === resolve("dist/mapectl.cjs");
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, entry ? `#!/usr/bin/env node\n${code}` : code, { mode: entry ? 0o755 : 0o644 });
}
