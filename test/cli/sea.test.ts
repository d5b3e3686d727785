import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { runCli, visible } from "../helpers/run-cli.ts";
import { BUNDLE, ROOT, ensureSea } from "../helpers/sea.ts";

const SEA = `${ROOT}dist/mapectl-linux-${process.arch}`;
// The CLI tests that must pass unchanged against the single executable.
const SHARED = ["test/cli/calc.test.ts", "test/cli/render.test.ts", "test/cli/render-install.test.ts"];
const skip =
  (process.platform !== "linux" || !["x64", "arm64"].includes(process.arch)) &&
  "the single executable is built for Linux only";

test(
  "the single executable passes the same calc, render and install CLI tests as the Node bundle",
  { skip, timeout: 600_000 },
  () => {
    assert.ok(existsSync(BUNDLE), "npm run build first");
    ensureSea(process.arch);
    const env: NodeJS.ProcessEnv = { ...process.env, MAPECTL_TEST_BIN: SEA };
    // Otherwise the inner runner would report to this one as if it were a subprocess of its own.
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", ...SHARED], {
      cwd: ROOT,
      env,
      encoding: "utf8",
      timeout: 540_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  },
);

test(
  "the single executable needs neither node nor node_modules: it runs from / with an empty environment",
  { skip },
  () => {
    ensureSea(process.arch);
    const r = spawnSync(SEA, ["calc", "2404:7a82:4d02:4100::/56", "--json"], {
      cwd: "/",
      env: {},
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ipv4Address: string }).ipv4Address, "133.209.13.2");
    assert.equal(r.stderr, "", "no experimental-feature warning");
    const version = spawnSync(SEA, ["--version"], { encoding: "utf8" });
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  },
);

// In this file rather than its own, so it never builds the executable at the same time as the tests above.
const DEB_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const hasDpkg = spawnSync("dpkg-deb", ["--version"]).status === 0;

test(
  "the .deb holds the executable, the unit, the man page and completion, and depends on iproute2 and nftables",
  { skip: skip || (!hasDpkg && "dpkg-deb is not installed"), timeout: 600_000 },
  () => {
    // No compression: the test checks the contents, not the size (xz takes about a minute).
    const made = spawnSync(
      process.execPath,
      ["scripts/build-deb.mjs", "--arch", process.arch, "--compression", "none"],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 540_000,
      },
    );
    assert.equal(made.status, 0, made.stderr);
    const deb = join(ROOT, `dist/mapectl_${version}_${DEB_ARCH[process.arch] ?? ""}.deb`);
    const field = (name: string) =>
      spawnSync("dpkg-deb", ["-f", deb, name], { encoding: "utf8" }).stdout.trim();
    assert.equal(field("Package"), "mapectl");
    assert.equal(field("Version"), version);
    assert.equal(field("Depends"), "iproute2, nftables");
    const list = spawnSync("dpkg-deb", ["-c", deb], { encoding: "utf8" }).stdout;
    assert.match(list, /^-rwxr-xr-x root\/root .* \.\/usr\/sbin\/mapectl$/m);
    const dir = mkdtempSync(join(tmpdir(), "mapectl-deb-"));
    assert.equal(spawnSync("dpkg-deb", ["-x", deb, dir]).status, 0);
    const bin = join(dir, "usr/sbin/mapectl");
    const calc = spawnSync(bin, ["calc", "2404:7a82:4d02:4100::/56", "--json"], {
      encoding: "utf8",
      env: {},
    });
    assert.equal(calc.status, 0, calc.stderr);
    assert.equal(
      readFileSync(join(dir, "lib/systemd/system/mapectl.service"), "utf8"),
      runCli(["render", "--target", "systemd-unit"]).stdout,
    );
    const man = gunzipSync(readFileSync(join(dir, "usr/share/man/man8/mapectl.8.gz"))).toString("utf8");
    assert.equal(man, runCli(["manpage"]).stdout);
    const completion = join(dir, "usr/share/bash-completion/completions/mapectl");
    assert.equal(spawnSync("bash", ["-n", completion]).status, 0);
    assert.match(readFileSync(completion, "utf8"), /^complete -F _mapectl mapectl$/m);
  },
);

test(
  "install from the single executable run by its bare name (as a router's PATH finds it) names the executable in the unit",
  { skip, timeout: 600_000 },
  () => {
    ensureSea(process.arch);
    // where the unit's sandbox can see it (a checkout under /tmp cannot be installed from)
    const sea = visible(SEA, false);
    const bin = mkdtempSync(join(tmpdir(), "mapectl-sea-path-"));
    symlinkSync(sea, join(bin, "mapectl"));
    const root = mkdtempSync(join(tmpdir(), "mapectl-sea-root-"));
    const r = spawnSync("mapectl", ["install", "--root", root, "--wan", "wan0", "--lan", "lan0"], {
      cwd: "/",
      env: { PATH: `${bin}:/usr/bin:/bin` },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const unit = readFileSync(join(root, "etc/systemd/system/mapectl.service"), "utf8");
    assert.match(
      unit,
      new RegExp(`^ExecStart=${realpathSync(sea).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} watch$`, "m"),
    );
  },
);
