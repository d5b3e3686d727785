import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { CLI, isOneLineError, runCli } from "../helpers/run-cli.ts";
import { spawnSync } from "node:child_process";
import { plantLink, tempDir } from "../helpers/temp-dir.ts";

test("install refuses to point the unit at a mapectl in /tmp, which the unit's PrivateTmp hides", () => {
  const root = tempDir("install");
  const copy = tempDir("copy");
  cpSync(dirname(CLI), copy, { recursive: true });
  const r = spawnSync(
    process.execPath,
    [join(copy, "mapectl.cjs"), "install", "--target", "debian", "--root", root],
    {
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 5, r.stdout + r.stderr);
  assert.ok(isOneLineError(r.stderr), r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `it would run ${copy}/mapectl\\.cjs, but its sandbox \\(PrivateTmp=yes hides /tmp from the daemon\\)`,
    ),
  );
  assert.deepEqual(readdirSync(root), [], "nothing is written when the unit could not start");
});

/** `install --target debian` into a root whose unit directory has `name` linked to a precious file. */
function installOverLink(name: string): { r: ReturnType<typeof runCli>; units: string; victim: string } {
  const root = tempDir("install");
  const units = join(root, "etc/systemd/system");
  mkdirSync(units, { recursive: true });
  const victim = plantLink(root, join(units, name));
  return { r: runCli(["install", "--target", "debian", "--root", root]), units, victim };
}

test("install never writes through a link planted where its temporary file used to go", () => {
  const { r, units, victim } = installOverLink("mapectl.service.mapectl-tmp");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.match(readFileSync(join(units, "mapectl.service"), "utf8"), /^ExecStart=/m);
});

test("install refuses to replace a unit file that is a symbolic link, and leaves its target alone", () => {
  const { r, victim } = installOverLink("mapectl.service");
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.ok(isOneLineError(r.stderr), r.stderr);
  assert.match(r.stderr, /refusing to write .*mapectl\.service: it is a symbolic link/);
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
});
