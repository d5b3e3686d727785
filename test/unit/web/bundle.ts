import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The browser bundles as scripts/build.mjs makes them, with the list of source files in each. */
export async function browserBundles(): Promise<Record<"status" | "calc", { js: string; inputs: string[] }>> {
  const result = await build({
    entryPoints: { status: "src/web/browser/status-page.ts", calc: "src/web/browser/calc-page.ts" },
    absWorkingDir: ROOT,
    bundle: true,
    platform: "browser",
    format: "iife",
    target: ["chrome109", "firefox115", "safari15.6"],
    minify: true,
    charset: "utf8",
    write: false,
    outdir: "dist/web",
    metafile: true,
    logLevel: "silent",
  });
  const pick = (name: "status" | "calc") => {
    const file = result.outputFiles.find((f) => f.path.endsWith(`/${name}.js`));
    const meta = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(`/${name}.js`));
    if (file === undefined || meta === undefined) throw new Error(`no ${name}.js`);
    return { js: file.text, inputs: Object.keys(meta[1].inputs) };
  };
  return { status: pick("status"), calc: pick("calc") };
}
