// Bundles the CLI (CommonJS, no node_modules needed at run time): dist/mapectl.cjs with its lazily
// loaded parts in dist/lib/, and dist/mapectl-single.cjs, everything in one file for the SEA.
import { build } from "esbuild";
import { chmodSync, readFileSync, rmSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
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

// What users run: the command line itself in dist/mapectl.cjs, and each lazily imported module
// (`await import()` in a command's action) as its own file under dist/lib/, so that `mapectl calc`
// parses only what calc needs. Modules a chunk shares with another are simply in both.
const chunks = new Map(); // absolute source path → chunk file name
const pending = [];
function chunkName(path) {
  if (!chunks.has(path)) {
    const slug = relative(resolve("."), path).replace(/\.ts$/, "").replaceAll("/", "-");
    chunks.set(path, `${slug}.cjs`);
    pending.push(path);
  }
  return chunks.get(path);
}
const splitDynamicImports = (prefix) => ({
  name: "split-dynamic-imports",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== "dynamic-import") return undefined;
      return { path: `${prefix}${chunkName(resolve(dirname(args.importer), args.path))}`, external: true };
    });
  },
});
rmSync("dist/lib", { recursive: true, force: true });
await build({
  ...common,
  entryPoints: ["src/cli/bin.ts"],
  outfile: "dist/mapectl.cjs",
  banner: { js: "#!/usr/bin/env node" },
  plugins: [splitDynamicImports("./lib/")],
});
while (pending.length > 0) {
  const path = pending.shift();
  await build({
    ...common,
    entryPoints: [path],
    outfile: `dist/lib/${chunks.get(path)}`,
    plugins: [splitDynamicImports("./")],
  });
}
chmodSync("dist/mapectl.cjs", 0o755);
