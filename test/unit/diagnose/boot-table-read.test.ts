import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readBootTable } from "../../../src/host/doctor-observe.ts";

function root(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-boot-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const SCRIPT = "config/scripts/vyos-postconfig-bootup.script";
const TABLE = "config/mapectl/mapectl.nft";

test("doctor reads the boot table when mapectl's hook is in VyOS's postconfig script, missing or not", () => {
  assert.deepEqual(readBootTable(root({ [SCRIPT]: "#!/bin/sh\n# BEGIN mapectl\n# END mapectl\n" })), {
    path: "/config/mapectl/mapectl.nft",
    text: null,
  });
  assert.deepEqual(
    readBootTable(root({ [SCRIPT]: "#!/bin/sh\n# BEGIN mapectl\n", [TABLE]: "table ip mapectl {}\n" })),
    {
      path: "/config/mapectl/mapectl.nft",
      text: "table ip mapectl {}\n",
    },
  );
});

test("without the hook and without the file there is no boot table to check", () => {
  assert.equal(readBootTable(root({ [SCRIPT]: "#!/bin/sh\n# a user's own lines\n" })), null);
  assert.equal(readBootTable(root({})), null);
});
