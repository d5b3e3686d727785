import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { goldenText } from "../helpers/golden.ts";
import { isOneLineError, runCli } from "../helpers/run-cli.ts";

// Runs against the Node bundle, and against the single executable when MAPECTL_TEST_BIN names it
// (test/cli/sea.test.ts), so both builds pass the same tests.
/** A router with WAN eth1, LAN eth2 and its WAN's default router, on the line of `prefix`. */
const router = (prefix: string): string[] => [
  ...["--prefix", prefix, "--wan", "eth1", "--lan", "eth2"],
  ...["--gateway", "fe80::a611:bbff:fe7d:ee11"],
];
const USER = router("2404:7a82:4d02:4100::/56");
const OCN = router("2400:4050:1234:5600::/56");
const EXTENSION = {
  vyos: "vyos.txt",
  nftables: "nft",
  shell: "sh",
  "systemd-networkd": "networkd.txt",
  "systemd-unit": "service",
};

for (const [name, args] of [
  ["user", USER],
  ["ocn", OCN],
] as const) {
  for (const [target, ext] of Object.entries(EXTENSION)) {
    test(`render --target ${target} for the ${name} case prints the golden text`, () => {
      const r = runCli(["render", "--target", target, ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, goldenText(`render/${name}.${ext}`));
    });
  }
}

test("render --json prints one object with every file's path, mode and content", () => {
  const r = runCli(["render", "--target", "vyos", ...USER, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    schemaVersion: number;
    method: string;
    target: string;
    files: { path: string; mode: string; content: string }[];
    warnings: string[];
  };
  assert.deepEqual(Object.keys(doc), ["schemaVersion", "method", "target", "files", "warnings"]);
  assert.equal(doc.method, "map-e");
  assert.equal(doc.schemaVersion, 1);
  assert.equal(doc.target, "vyos");
  assert.deepEqual(
    doc.files.map((f) => [f.path, f.mode]),
    [
      ["vyos-configure.txt", "0644"],
      ["/config/mapectl/mapectl.nft", "0644"],
      ["/config/scripts/vyos-postconfig-bootup.script", "0755"],
    ],
  );
  assert.match(doc.files[0]?.content ?? "", /^set interfaces tunnel tun0 encapsulation ipip6$/m);
  assert.deepEqual(doc.warnings, []);
});

test("away from the router without --gateway: a marked placeholder, and one warning on stderr", () => {
  const line = ["--prefix", "2404:7a82:4d02:4100::/56", "--wan", "eth1"];
  const r = runCli(["render", "--target", "vyos", ...line, "--lan", "eth2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /next-hop fe80::GATEWAY interface eth1/);
  assert.match(r.stdout, /# REPLACE fe80::GATEWAY/);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1);
  assert.match(
    lines[0] ?? "",
    /^mapectl: warning: no --gateway: .*fe80::GATEWAY.*ip -6 route show default dev eth1/,
  );
  const json = runCli(["render", "--target", "shell", ...line, "--json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.match((JSON.parse(json.stdout) as { warnings: string[] }).warnings.join(), /no --gateway/);
});

test("the unit needs no plan: render --target systemd-unit works with no prefix and no host", () => {
  const r = runCli(["render", "--target", "systemd-unit"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ExecStart=\/usr\/sbin\/mapectl watch$/m);
});

test("--output-dir writes each file below the directory with its mode", () => {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-render-"));
  const r = runCli(["render", "--target", "vyos", ...USER, "--output-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), [
    join(dir, "vyos-configure.txt"),
    join(dir, "config/mapectl/mapectl.nft"),
    join(dir, "config/scripts/vyos-postconfig-bootup.script"),
  ]);
  assert.equal(statSync(join(dir, "config/scripts/vyos-postconfig-bootup.script")).mode & 0o777, 0o755);
  assert.equal(statSync(join(dir, "config/mapectl/mapectl.nft")).mode & 0o777, 0o644);
});

test("--output-dir merges mapectl's block into a boot script that exists and keeps every line of the user's", () => {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-render-"));
  const hook = join(dir, "config/scripts/vyos-postconfig-bootup.script");
  mkdirSync(join(dir, "config/scripts"), { recursive: true });
  const mine =
    "#!/bin/sh\nip link set eth3 up\n# BEGIN mapectl\nnft -f /old\n# END mapectl\nlogger mine-after\n";
  writeFileSync(hook, mine);
  chmodSync(hook, 0o750);
  const r = runCli(["render", "--target", "vyos", ...USER, "--output-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(hook, "utf8");
  assert.ok(text.startsWith("#!/bin/sh\nip link set eth3 up\n# BEGIN mapectl: "), text);
  assert.ok(text.endsWith("# END mapectl\nlogger mine-after\n"), text);
  assert.doesNotMatch(text, /nft -f \/old/);
  assert.equal(text.split("\n").filter((l) => l.startsWith("# BEGIN mapectl")).length, 1);
  assert.match(text, /nft -f \/config\/mapectl\/mapectl\.nft/);
  assert.equal(statSync(hook).mode & 0o777, 0o750, "the user's script keeps its mode");
  assert.equal(runCli(["render", "--target", "vyos", ...USER, "--output-dir", dir]).code, 0);
  assert.equal(readFileSync(hook, "utf8"), text, "a second render changes nothing");
  writeFileSync(hook, "#!/bin/sh\n# BEGIN mapectl\nmine\n");
  const fresh = mkdtempSync(join(tmpdir(), "mapectl-render-"));
  mkdirSync(join(fresh, "config/scripts"), { recursive: true });
  writeFileSync(join(fresh, "config/scripts/vyos-postconfig-bootup.script"), "#!/bin/sh\n# BEGIN mapectl\n");
  const none = runCli(["render", "--target", "vyos", ...USER, "--output-dir", fresh]);
  assert.equal(none.code, 4, none.stderr);
  assert.equal(existsSync(join(fresh, "vyos-configure.txt")), false, "nothing written when the merge fails");
  const broken = runCli(["render", "--target", "vyos", ...USER, "--output-dir", dir]);
  assert.equal(broken.code, 4);
  assert.match(broken.stderr, /has a "# BEGIN mapectl" line without a "# END mapectl" line after it/);
  assert.ok(isOneLineError(broken.stderr), broken.stderr);
  assert.equal(readFileSync(hook, "utf8"), "#!/bin/sh\n# BEGIN mapectl\nmine\n");
});

const failures: [string, string[], number, RegExp][] = [
  [
    "an unknown target",
    ["render", "--target", "openwrt", ...USER],
    2,
    /argument 'openwrt' is invalid.*vyos, nftables, shell/,
  ],
  ["no target", ["render", ...USER], 2, /required option '--target <target>' not specified/],
  ["no WAN", ["render", "--target", "shell", "--prefix", "2404:7a82:4d02:4100::/56"], 4, /no WAN interface/],
  [
    "a malformed prefix",
    ["render", "--target", "shell", "--prefix", "2404:zz::/56", "--wan", "eth1"],
    2,
    /not an IPv6 prefix/,
  ],
  [
    "a prefix of no MAP-E line",
    ["render", "--target", "vyos", "--prefix", "2001:db8::/56", "--wan", "eth1"],
    3,
    /no MAP-E rule/,
  ],
  [
    "a WAN VyOS cannot name",
    ["render", "--target", "vyos", ...USER, "--wan", "ppp0"],
    2,
    /Ethernet interface/,
  ],
  [
    "a tunnel MTU out of range",
    ["render", "--target", "shell", ...USER, "--mtu", "1500"],
    4,
    /tunnel MTU 1500/,
  ],
];
for (const [what, args, code, message] of failures) {
  test(`render with ${what} exits ${code} with one line naming the problem`, () => {
    const r = runCli(args);
    assert.equal(r.code, code, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, message);
    assert.ok(isOneLineError(r.stderr), r.stderr);
  });
}

test("--help lists render, install, uninstall and completion, but not the hidden manpage", () => {
  const r = runCli(["--help"]);
  assert.equal(r.code, 0);
  for (const name of ["render", "install", "uninstall", "completion"])
    assert.match(r.stdout, new RegExp(`^  ${name} `, "m"));
  assert.doesNotMatch(r.stdout, /manpage/);
});

test("completion bash offers the commands, each command's options and --target's choices", () => {
  const r = runCli(["completion", "bash"]);
  assert.equal(r.code, 0, r.stderr);
  const complete = (words: string[]): string[] => {
    const script = `${r.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _mapectl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout
      .trim()
      .split("\n")
      .filter((w) => w !== "");
  };
  assert.ok(complete(["mapectl", "re"]).includes("render"));
  assert.deepEqual(complete(["mapectl", "render", "--target", ""]).sort(), [
    "nftables",
    "shell",
    "systemd-networkd",
    "systemd-unit",
    "vyos",
  ]);
  assert.deepEqual(complete(["mapectl", "render", "--tar"]), ["--target"]);
  assert.ok(complete(["mapectl", "calc", "--"]).includes("--rules-file"));
  assert.deepEqual(complete(["mapectl", "install", "--target", "v"]), ["vyos"]);
  assert.ok(complete(["mapectl", "render", "--wan", "l"]).includes("lo"));
  assert.doesNotMatch(r.stdout, /manpage/);
  const zsh = runCli(["completion", "zsh"]);
  assert.match(zsh.stdout, /^#compdef mapectl\n/);
});

test("the man page has the expected sections and the same option text as --help", () => {
  const r = runCli(["manpage"]);
  assert.equal(r.code, 0, r.stderr);
  const sections = [...r.stdout.matchAll(/^\.SH (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(sections, [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "COMMANDS",
    "OPTIONS",
    "FILES",
    "EXIT STATUS",
    "EXAMPLES",
    "SEE ALSO",
  ]);
  const groff = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-Wbreak", "-z"], {
    input: r.stdout,
    encoding: "utf8",
  });
  // every warning but "can't break line" (a long rule spec in one word)
  if (groff.error === undefined) assert.equal(groff.stderr, "", "groff has no warning");
  const text = r.stdout.replace(/\\-/g, "-").replace(/\\e/g, "\\");
  const help = runCli(["render", "--help"]).stdout;
  for (const line of help.split("\n").filter((l) => /^ {2}--(target|output-dir|gateway)/.test(l))) {
    const [term = "", description = ""] = line.trim().split(/ {2,}/);
    assert.ok(text.includes(term), term);
    assert.ok(text.includes(description.slice(0, 40)), description);
  }
  assert.match(text, /^\.B 3\n.*no MAP-E parameters/m);
});
