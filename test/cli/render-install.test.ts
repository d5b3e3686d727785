import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { isRoot } from "../helpers/netns.ts";
import { CLI, isOneLineError, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

// Every test works below a temporary --root, so the real /etc and /config are never touched.
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      out.push(`${relative(root, path)}${statSync(path).isDirectory() ? "/" : ""}`);
      if (statSync(path).isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

function fresh(): string {
  return tempDir("install");
}

test("Debian: install writes the config, the unit and a manifest; uninstall leaves the root as it was", () => {
  const root = fresh();
  const r = runCli(["install", "--target", "debian", "--root", root, "--wan", "eth1", "--lan", "eth2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(tree(root), [
    "etc/",
    "etc/mapectl/",
    "etc/mapectl/config.toml",
    "etc/systemd/",
    "etc/systemd/system/",
    "etc/systemd/system/mapectl.service",
    "var/",
    "var/lib/",
    "var/lib/mapectl/",
    "var/lib/mapectl/install.json",
  ]);
  assert.match(readFileSync(join(root, "etc/mapectl/config.toml"), "utf8"), /^wan = "eth1"$/m);
  const unit = readFileSync(join(root, "etc/systemd/system/mapectl.service"), "utf8");
  assert.match(unit, /^ExecStart=\S+ (\S+ )?watch$/m);
  assert.match(unit, /^ProtectSystem=strict$/m);
  const again = runCli(["install", "--target", "debian", "--root", root]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /kept\s+\/etc\/mapectl\/config\.toml \(it exists already\)/);
  assert.match(again.stdout, /unchanged\s+\/etc\/systemd\/system\/mapectl\.service/);
  const un = runCli(["uninstall", "--root", root]);
  assert.equal(un.code, 0, un.stderr);
  assert.deepEqual(tree(root), []);
});

test("uninstall keeps a file the user changed since install, and --dry-run changes nothing", () => {
  const root = fresh();
  assert.equal(runCli(["install", "--target", "debian", "--root", root, "--dry-run"]).code, 0);
  assert.deepEqual(tree(root), []);
  assert.equal(runCli(["install", "--target", "debian", "--root", root]).code, 0);
  writeFileSync(join(root, "etc/mapectl/config.toml"), 'wan = "eth7"\n');
  const before = tree(root);
  const dry = runCli(["uninstall", "--root", root, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(tree(root), before);
  const r = runCli(["uninstall", "--root", root, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { steps: { path: string; action: string }[] };
  assert.deepEqual(
    doc.steps.find((s) => s.path === "/etc/mapectl/config.toml"),
    { path: "/etc/mapectl/config.toml", action: "keep", why: "changed since install" },
  );
  assert.deepEqual(tree(root), ["etc/", "etc/mapectl/", "etc/mapectl/config.toml"]);
});

test("a packaged install (the .deb's unit present) gets no second unit", () => {
  const root = fresh();
  mkdirSync(join(root, "lib/systemd/system"), { recursive: true });
  writeFileSync(join(root, "lib/systemd/system/mapectl.service"), "[Service]\n");
  const r = runCli(["install", "--target", "debian", "--root", root]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /skipped\s+\/etc\/systemd\/system\/mapectl\.service \(the package installed/);
});

test("VyOS: everything under /config, the boot hook added to the user's script and taken out again byte for byte", () => {
  const root = fresh();
  mkdirSync(join(root, "usr/libexec/vyos"), { recursive: true });
  mkdirSync(join(root, "config/scripts"), { recursive: true });
  const hook = join(root, "config/scripts/vyos-postconfig-bootup.script");
  const mine =
    "#!/bin/sh\n# This script is executed at boot time after VyOS configuration is fully applied.\nip link set eth3 up\n";
  writeFileSync(hook, mine);
  chmodSync(hook, 0o750);
  const r = runCli(["install", "--root", root]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^mapectl install \(vyos, below /);
  assert.deepEqual(
    tree(root).filter((p) => p.startsWith("config/")),
    [
      "config/",
      "config/mapectl/",
      "config/mapectl/config.toml",
      "config/mapectl/install.json",
      "config/mapectl/mapectl",
      "config/mapectl/mapectl.service",
      "config/scripts/",
      "config/scripts/vyos-postconfig-bootup.script",
    ],
  );
  const text = readFileSync(hook, "utf8");
  assert.ok(text.startsWith(mine));
  assert.match(text, /^# BEGIN mapectl/m);
  assert.match(text, /nft -f \/config\/mapectl\/mapectl\.nft/);
  assert.equal(statSync(hook).mode & 0o777, 0o750, "the script keeps its mode");
  assert.equal(statSync(join(root, "config/mapectl/mapectl")).mode & 0o777, 0o755);
  const unit = readFileSync(join(root, "config/mapectl/mapectl.service"), "utf8");
  assert.match(
    unit,
    /^ExecStart=\/config\/mapectl\/mapectl watch --config \/config\/mapectl\/config\.toml$/m,
  );
  assert.match(unit, /^ReadWritePaths=.*\/config\/mapectl$/m);
  assert.equal(runCli(["install", "--root", root]).code, 0);
  assert.equal(readFileSync(hook, "utf8"), text, "a second install leaves one block");
  const un = runCli(["uninstall", "--root", root]);
  assert.equal(un.code, 0, un.stderr);
  assert.equal(readFileSync(hook, "utf8"), mine);
  assert.deepEqual(tree(root), [
    "config/",
    "config/scripts/",
    "config/scripts/vyos-postconfig-bootup.script",
    "usr/",
    "usr/libexec/",
    "usr/libexec/vyos/",
  ]);
});

test("VyOS without a boot script: install creates VyOS's default with the block, uninstall removes it", () => {
  const root = fresh();
  const r = runCli(["install", "--target", "vyos", "--root", root]);
  assert.equal(r.code, 0, r.stderr);
  const hook = join(root, "config/scripts/vyos-postconfig-bootup.script");
  assert.match(readFileSync(hook, "utf8"), /^#!\/bin\/sh\n# This script is executed at boot time/);
  assert.equal(statSync(hook).mode & 0o777, 0o755);
  assert.equal(spawnSync("sh", ["-n", hook]).status, 0);
  assert.equal(runCli(["uninstall", "--target", "vyos", "--root", root]).code, 0);
  assert.deepEqual(tree(root), []);
});

test("VyOS: install writes the boot table when the configuration plans, and uninstall removes it whatever it holds", () => {
  const root = fresh();
  mkdirSync(join(root, "config/mapectl"), { recursive: true });
  const config = join(root, "config/mapectl/config.toml");
  writeFileSync(
    config,
    'wan = "eth1"\nlan = ["eth2"]\n[parameters]\nprefix = "2404:7a82:4d02:4100::/56"\n[tunnel]\nname = "tun0"\nowner = "vyos"\ngateway = "fe80::1"\n',
  );
  const r = runCli(["install", "--target", "vyos", "--root", root]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /created\s+\/config\/mapectl\/mapectl\.nft/);
  const table = readFileSync(join(root, "config/mapectl/mapectl.nft"), "utf8");
  const rendered = runCli(["render", "--target", "nftables", "--config", config]);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.equal(table.trimEnd(), rendered.stdout.trimEnd(), "the table up would load for this configuration");
  assert.match(table, /oifname "tun0" meta l4proto \{ tcp, udp, icmp \} snat ip to 133\.209\.13\.2:16-255/);
  assert.equal(statSync(join(root, "config/mapectl/mapectl.nft")).mode & 0o777, 0o644);
  // the daemon rewrote it for a new prefix since: uninstall still removes it
  writeFileSync(join(root, "config/mapectl/mapectl.nft"), "table ip mapectl { }\n");
  const un = runCli(["uninstall", "--root", root]);
  assert.equal(un.code, 0, un.stderr);
  assert.match(un.stdout, /removed\s+\/config\/mapectl\/mapectl\.nft/);
  assert.equal(existsSync(join(root, "config/mapectl/mapectl.nft")), false);
});

test("VyOS: with a configuration that cannot plan yet, install says when the boot table will be written", () => {
  const root = fresh();
  const r = runCli(["install", "--target", "vyos", "--root", root, "--wan", "eth1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /\/config\/mapectl\/mapectl\.nft, the NAPT table the boot hook loads, is not written yet \(no prefix in \/config\/mapectl\/config\.toml.*\): the daemon or mapectl up writes it when it first loads the NAPT/,
  );
  assert.equal(existsSync(join(root, "config/mapectl/mapectl.nft")), false);
  // a daemon wrote it later: uninstall removes it with the rest
  writeFileSync(join(root, "config/mapectl/mapectl.nft"), "table ip mapectl { }\n");
  assert.equal(runCli(["uninstall", "--root", root]).code, 0);
  assert.deepEqual(tree(root), []);
});

test("uninstall with nothing installed says so and exits 0", () => {
  const r = runCli(["uninstall", "--root", fresh()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing to remove/);
});

test(
  "install and uninstall without root exit 5 with one line naming the fix",
  {
    skip:
      (!isRoot() && "needs root to drop to nobody") ||
      (process.env.MAPECTL_TEST_BIN !== undefined && "Node build only"),
  },
  () => {
    for (const cmd of ["install", "uninstall"]) {
      const r = spawnSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, cmd],
        {
          encoding: "utf8",
        },
      );
      assert.equal(r.status, 5, r.stderr);
      assert.match(r.stderr, new RegExp(`mapectl ${cmd} writes to /etc, /config .* must run as root`));
      assert.ok(isOneLineError(r.stderr), r.stderr);
    }
  },
);
