import assert from "node:assert/strict";
import { test } from "node:test";
import { isOneLineError, runCli } from "../../helpers/run-cli.ts";

test("serve refuses a malformed --listen in one line, exit 2, before listening", () => {
  for (const listen of ["localhost:8146", "8146", "127.0.0.1", "127.0.0.1:70000", "[::1]", "0.0.0.0:http"]) {
    const r = runCli(["serve", "--listen", listen]);
    assert.equal(r.code, 2, `${listen}: ${r.stderr}`);
    assert.ok(isOneLineError(r.stderr), r.stderr);
    assert.match(r.stderr, /--listen ".*" is not ADDRESS:PORT with an IP address \(e\.g\. 127\.0\.0\.1:8146/);
    assert.equal(r.stdout, "");
  }
});

test("serve --help says it listens on loopback by default", () => {
  const r = runCli(["serve", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /default 127\.0\.0\.1:8146/);
});
