import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { webBuildOptions } from "../../../scripts/web-build-config.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The browser bundles with the options scripts/build.mjs uses, plus the list of source files in each. */
export async function browserBundles(): Promise<Record<"status" | "calc", { js: string; inputs: string[] }>> {
  const result = await build({ ...webBuildOptions, absWorkingDir: ROOT, metafile: true, logLevel: "silent" });
  const pick = (name: "status" | "calc") => {
    const file = result.outputFiles.find((f) => f.path.endsWith(`/${name}.js`));
    const meta = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(`/${name}.js`));
    if (file === undefined || meta === undefined) throw new Error(`no ${name}.js`);
    return { js: file.text, inputs: Object.keys(meta[1].inputs) };
  };
  return { status: pick("status"), calc: pick("calc") };
}
