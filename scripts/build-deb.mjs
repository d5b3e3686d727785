// Builds dist/mapectl_<version>_amd64.deb and dist/mapectl_<version>_arm64.deb with dpkg-deb: the
// single executable as /usr/sbin/mapectl, the daemon's unit, the man page and bash completion, the
// last three made by mapectl itself from its command definitions.
//   node scripts/build-deb.mjs [--arch x64|arm64|all] [--compression xz|gzip|zstd|none]
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const compression = option("--compression", "xz");
const DEB_ARCH = { x64: "amd64", arm64: "arm64" };
const archOption = option("--arch", "all");
const arches = archOption === "all" ? Object.keys(DEB_ARCH) : [archOption];
if (arches.some((arch) => DEB_ARCH[arch] === undefined)) {
  console.error(`build-deb: --arch must be x64, arm64 or all, not ${archOption}`);
  process.exit(2);
}
const version = JSON.parse(readFileSync("package.json", "utf8")).version;
// The generated files come from the bundle, so the text is the same whatever the target CPU.
const mapectl = (...argv) =>
  execFileSync(process.execPath, ["dist/mapectl.cjs", ...argv], { encoding: "utf8" });

function size(dir) {
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    bytes += st.isDirectory() ? size(path) : st.size;
  }
  return bytes;
}

function buildDeb(arch) {
  const started = Date.now();
  const sea = `dist/mapectl-linux-${arch}`;
  if (
    !existsSync(sea) ||
    !existsSync("dist/mapectl.cjs") ||
    statSync(sea).mtimeMs < statSync("dist/mapectl.cjs").mtimeMs
  ) {
    const bundled = existsSync("dist/mapectl.cjs") ? ["--no-bundle"] : [];
    execFileSync(process.execPath, ["scripts/build-sea.mjs", "--arch", arch, ...bundled], {
      stdio: "inherit",
    });
  }
  const stage = `dist/deb/mapectl_${version}_${DEB_ARCH[arch]}`;
  rmSync(stage, { recursive: true, force: true });
  function put(path, content, mode) {
    const to = join(stage, path);
    mkdirSync(join(to, ".."), { recursive: true });
    if (typeof content === "object" && "from" in content) copyFileSync(content.from, to);
    else writeFileSync(to, content);
    chmodSync(to, mode);
  }
  put("usr/sbin/mapectl", { from: sea }, 0o755);
  put("lib/systemd/system/mapectl.service", mapectl("render", "--target", "systemd-unit"), 0o644);
  // gzip -9n: no name or time stamp inside, so the same input gives the same package.
  put("usr/share/man/man8/mapectl.8.gz", gzipSync(mapectl("manpage"), { level: 9 }), 0o644);
  put("usr/share/bash-completion/completions/mapectl", mapectl("completion", "bash"), 0o644);
  put("usr/share/doc/mapectl/copyright", readFileSync("packaging/debian/copyright"), 0o644);
  for (const script of ["postinst", "prerm", "postrm"])
    put(`DEBIAN/${script}`, readFileSync(`packaging/debian/${script}`), 0o755);

  const installed = Math.ceil((size(stage) - size(join(stage, "DEBIAN"))) / 1024);
  put(
    "DEBIAN/control",
    readFileSync("packaging/debian/control.in", "utf8")
      .replace("@VERSION@", version)
      .replace("@ARCH@", DEB_ARCH[arch])
      .replace("@SIZE@", String(installed)),
    0o644,
  );
  const deb = `dist/mapectl_${version}_${DEB_ARCH[arch]}.deb`;
  const r = spawnSync("dpkg-deb", ["--root-owner-group", `-Z${compression}`, "--build", stage, deb], {
    stdio: "inherit",
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  rmSync("dist/deb", { recursive: true, force: true });
  console.log(
    `build-deb: ${deb} (${(statSync(deb).size / 1e6).toFixed(1)} MB, ${compression}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

for (const arch of arches) buildDeb(arch);
