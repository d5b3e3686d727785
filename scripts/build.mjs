// Bundles the CLI into one CommonJS file (dist/mapectl.cjs): fast cold start, no node_modules
// needed at run time, and the input for the single-executable build.
import { build } from "esbuild";
import { chmodSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

await build({
  entryPoints: ["src/cli/bin.ts"],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outfile: "dist/mapectl.cjs",
  banner: { js: "#!/usr/bin/env node" },
  define: { MAPECTL_VERSION: JSON.stringify(pkg.version) },
  legalComments: "none",
  logLevel: "warning",
});
chmodSync("dist/mapectl.cjs", 0o755);
