import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { QEMU_AARCH64, arm64Sysroot } from "../helpers/arm64-sysroot.ts";
import { isRoot } from "../helpers/netns.ts";
import { BUNDLE, ROOT, ensureSea } from "../helpers/sea.ts";

// The arm64 executable and .deb, run on this x64 machine by qemu-user over a Debian arm64 sysroot:
// every answer must be byte for byte what the Node bundle prints here.
const skip =
  (process.platform !== "linux" || process.arch !== "x64"
    ? "runs the arm64 build under qemu-user on an x64 Linux host"
    : !isRoot() && "needs root (mmdebstrap, the lab cache)") || false;
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const SEED = "2404:7a82:4d02:4100::/56";
let sea = "";
let sysroot = "";

before(() => {
  if (skip !== false) return;
  sea = ensureSea("arm64");
  const started = Date.now();
  sysroot = arm64Sysroot();
  console.log(`arm64 sysroot ${sysroot} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

function onArm64(exe: string, argv: string[]) {
  // An empty environment from /: the executable needs no node, node_modules or PATH.
  return spawnSync(QEMU_AARCH64, ["-L", sysroot, exe, ...argv], { cwd: "/", env: {}, encoding: "utf8" });
}

function withNode(argv: string[]) {
  return spawnSync(process.execPath, [BUNDLE, ...argv], { cwd: "/", env: {}, encoding: "utf8" });
}

/** e_machine of an ELF file: 183 is AArch64, 62 x86-64. */
function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, "r");
  readSync(fd, header, 0, 20, 0);
  closeSync(fd);
  assert.equal(header.subarray(0, 4).toString("latin1"), "\x7fELF");
  return header.readUInt16LE(18);
}

const RENDER = ["render", "--prefix", SEED, "--wan", "eth1", "--lan", "eth2", "--gateway", "fe80::1"];
const SAME = [
  ["--version"],
  ["calc", SEED, "--json"],
  ["calc", SEED],
  ["calc", "240b:10:2:300::/56", "--json"],
  ["calc", "2400:4050:1:100::/56", "--json"],
  [...RENDER, "--target", "nftables"],
  [...RENDER, "--target", "vyos", "--json"],
  ["doctor", "--help"],
  // A bad prefix: the same one-line error and exit status, no stack trace.
  ["calc", "2404:7a82::zz/56"],
];

test("the arm64 executable prints under qemu-user exactly what the Node bundle prints", { skip }, () => {
  assert.equal(elfMachine(sea), 183, `${sea} is not an AArch64 executable`);
  for (const argv of SAME) {
    const arm = onArm64(sea, argv);
    const node = withNode(argv);
    const what = `mapectl ${argv.join(" ")}`;
    assert.equal(arm.error, undefined, `${what}: ${String(arm.error)}`);
    assert.equal(arm.status, node.status, `${what}: exit status\n${arm.stderr}`);
    assert.equal(arm.stdout, node.stdout, what);
    assert.equal(arm.stderr, node.stderr, `${what}: stderr (no experimental-feature warning either)`);
  }
  const calc = JSON.parse(onArm64(sea, ["calc", SEED, "--json"]).stdout) as {
    ipv4Address: string;
    psid: number;
  };
  assert.equal(calc.ipv4Address, "133.209.13.2");
  assert.equal(calc.psid, 65);
  assert.equal(onArm64(sea, ["calc", "2404:7a82::zz/56"]).status, 2);
});

function debField(deb: string, field: string): string {
  return spawnSync("dpkg-deb", ["-f", deb, field], { encoding: "utf8" }).stdout.trim();
}

/** dpkg-deb -c without sizes and dates: mode, owner and path of each entry. */
function debEntries(deb: string): string[] {
  const list = spawnSync("dpkg-deb", ["-c", deb], { encoding: "utf8" });
  assert.equal(list.status, 0, list.stderr);
  return list.stdout
    .trim()
    .split("\n")
    .map((line) => line.split(/\s+/))
    .map((f) => `${f[0]} ${f[1]} ${f.slice(5).join(" ")}`);
}

/** An empty dpkg database whose native architecture is the host's, amd64. */
function emptyDpkgRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "mapectl-arm64-root-"));
  mkdirSync(join(root, "var/lib/dpkg/info"), { recursive: true });
  mkdirSync(join(root, "var/lib/dpkg/updates"));
  writeFileSync(join(root, "var/lib/dpkg/status"), "");
  writeFileSync(join(root, "var/lib/dpkg/available"), "");
  return root;
}

test(
  "npm run build:deb makes an arm64 .deb like the amd64 one, which dpkg installs only on arm64 and which runs there",
  { skip, timeout: 600_000 },
  () => {
    const made = spawnSync(process.execPath, ["scripts/build-deb.mjs", "--compression", "none"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 540_000,
    });
    assert.equal(made.status, 0, made.stderr);
    const arm = join(ROOT, `dist/mapectl_${version}_arm64.deb`);
    const amd = join(ROOT, `dist/mapectl_${version}_amd64.deb`);
    assert.equal(debField(arm, "Architecture"), "arm64");
    assert.equal(debField(amd, "Architecture"), "amd64");
    for (const field of ["Package", "Version", "Depends", "Recommends", "Description"])
      assert.equal(debField(arm, field), debField(amd, field), field);
    assert.deepEqual(debEntries(arm), debEntries(amd));

    // dpkg refuses an arm64 package on an amd64 root, and unpacks it once the root is arm64's.
    const root = emptyDpkgRoot();
    const refused = spawnSync("dpkg", ["--root", root, "--unpack", arm], { encoding: "utf8" });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /architecture \(arm64\) does not match system \(amd64\)/);
    assert.equal(spawnSync("dpkg", ["--root", root, "--add-architecture", "arm64"]).status, 0);
    // --unpack, not --install: the postinst would need an arm64 /bin/sh run through binfmt_misc.
    const unpacked = spawnSync("dpkg", ["--root", root, "--unpack", arm], { encoding: "utf8" });
    assert.equal(unpacked.status, 0, unpacked.stderr);
    const status = spawnSync("dpkg", ["--root", root, "-s", "mapectl:arm64"], { encoding: "utf8" });
    assert.match(status.stdout, /^Architecture: arm64$/m);

    const installed = join(root, "usr/sbin/mapectl");
    assert.equal(elfMachine(installed), 183);
    const calc = onArm64(installed, ["calc", SEED, "--json"]);
    assert.equal(calc.status, 0, calc.stderr);
    assert.equal(calc.stdout, withNode(["calc", SEED, "--json"]).stdout);
    assert.equal(
      readFileSync(join(root, "lib/systemd/system/mapectl.service"), "utf8"),
      withNode(["render", "--target", "systemd-unit"]).stdout,
    );
  },
);
