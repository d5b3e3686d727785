// The esbuild options of the web pages' scripts (mapectl serve), shared by scripts/build.mjs and the
// unit test of the browser bundles, so the test checks exactly what ships. Paths are relative to the
// repository root (the build's working directory).
// platform "browser" fails the build if the core ever pulls in a Node built-in.
export const webBuildOptions = {
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
};
