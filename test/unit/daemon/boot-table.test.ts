import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { forgetBootTable } from "../../../src/daemon/converge.ts";
import {
  bootTableNote,
  bootTablePath,
  removeBootTable,
  syncBootTable,
} from "../../../src/host/boot-table.ts";
import type { AppliedState } from "../../../src/plan/reconcile.ts";
import { planFor } from "../../helpers/plans.ts";
import { tempDir } from "../../helpers/temp-dir.ts";

const saved = process.env.MAPECTL_BOOT_TABLE;
afterEach(() => {
  if (saved === undefined) delete process.env.MAPECTL_BOOT_TABLE;
  else process.env.MAPECTL_BOOT_TABLE = saved;
});

function inTemp(withDir = true): string {
  const root = tempDir("boot-table");
  const dir = join(root, "config/mapectl");
  if (withDir) mkdirSync(dir, { recursive: true });
  process.env.MAPECTL_BOOT_TABLE = join(dir, "mapectl.nft");
  return dir;
}

test("the boot table is written whole, 0644, only when it differs, and no temporary file is left", () => {
  const dir = inTemp();
  assert.deepEqual(syncBootTable("table ip mapectl { }\n"), { path: bootTablePath(), action: "written" });
  assert.equal(readFileSync(bootTablePath(), "utf8"), "table ip mapectl { }\n");
  assert.equal(statSync(bootTablePath()).mode & 0o777, 0o644);
  assert.deepEqual(syncBootTable("table ip mapectl { }\n"), { path: bootTablePath(), action: "unchanged" });
  assert.equal(syncBootTable("table ip mapectl { # new prefix\n}\n")?.action, "written");
  assert.equal(readFileSync(bootTablePath(), "utf8"), "table ip mapectl { # new prefix\n}\n");
  assert.deepEqual(readdirSync(dir), ["mapectl.nft"]);
});

test("without the boot hook's directory nothing is written (nothing would load it)", () => {
  inTemp(false);
  assert.equal(syncBootTable("table ip mapectl { }\n"), null);
  assert.equal(existsSync(bootTablePath()), false);
});

test("a write that fails is reported, not thrown: the NAPT is loaded all the same", () => {
  const dir = inTemp();
  mkdirSync(join(dir, "mapectl.nft"));
  const change = syncBootTable("table ip mapectl { }\n");
  assert.equal(change?.action, "failed");
  assert.match(
    bootTableNote(change) ?? "",
    /^could not update .*mapectl\.nft, the table the boot hook loads \(/,
  );
});

test("down on VyOS removes the boot table; with another owner it is left alone", () => {
  inTemp();
  writeFileSync(bootTablePath(), "old\n");
  const state = (tunnelOwner: "vyos" | "mapectl"): AppliedState => ({
    schemaVersion: 1,
    appliedAt: "2026-01-01T00:00:00.000Z",
    plan: { ...planFor("2404:7a82:4d02:4100::/56"), tunnelOwner },
    nftScript: "old\n",
    replacedDefaults: [],
    enabledForwarding: false,
  });
  assert.equal(forgetBootTable(state("mapectl")), null);
  assert.equal(existsSync(bootTablePath()), true);
  assert.deepEqual(forgetBootTable(state("vyos")), { path: bootTablePath(), action: "removed" });
  assert.equal(existsSync(bootTablePath()), false);
  assert.equal(removeBootTable(), null, "already gone: nothing to say");
  assert.match(
    bootTableNote({ path: "/x", action: "removed" }) ?? "",
    /removed \/x: the boot hook loads no table/,
  );
});
