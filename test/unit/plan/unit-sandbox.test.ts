import assert from "node:assert/strict";
import { test } from "node:test";
import { hiddenBySandbox, hiddenExecutable } from "../../../src/plan/unit-sandbox.ts";
import { renderSystemdUnit } from "../../../src/render/systemd.ts";

const unit = renderSystemdUnit({ command: ["/usr/local/bin/mapectl"] }).content;

test("the rendered unit's own sandbox hides /tmp, /var/tmp, /home, /root and /run/user", () => {
  for (const path of [
    "/tmp/mapectl",
    "/var/tmp/x/mapectl",
    "/home/me/bin/mapectl",
    "/root/mapectl",
    "/run/user/1000/m",
  ]) {
    assert.notEqual(hiddenBySandbox(unit, path), null, path);
  }
  for (const path of [
    "/usr/local/bin/mapectl",
    "/usr/sbin/mapectl",
    "/opt/mapectl/mapectl",
    "/tmpfoo/mapectl",
    "/homely/m",
  ]) {
    assert.equal(hiddenBySandbox(unit, path), null, path);
  }
});

test("ProtectHome=read-only leaves the executable there to run; the last assignment wins", () => {
  assert.equal(hiddenBySandbox("[Service]\nProtectHome=read-only\n", "/home/me/mapectl"), null);
  assert.equal(hiddenBySandbox("[Service]\nPrivateTmp=yes\nPrivateTmp=no\n", "/tmp/mapectl"), null);
  assert.match(
    hiddenBySandbox("[Service]\nProtectHome=tmpfs\n", "/root/m") ?? "",
    /ProtectHome=tmpfs hides \/root/,
  );
});

test("node from a home directory is as hidden as the bundle", () => {
  const why = hiddenExecutable(unit, [
    "/home/me/.nvm/versions/node/v20/bin/node",
    "/usr/lib/mapectl/mapectl.cjs",
  ]);
  assert.match(why ?? "", /it would run \/home\/me\/\.nvm\/.*ProtectHome=yes hides \/home/);
  assert.equal(hiddenExecutable(unit, ["/usr/bin/node", "/usr/lib/mapectl/mapectl.cjs"]), null);
});
