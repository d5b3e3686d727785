import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { goldenText } from "../helpers/golden.ts";
import { isOneLineError, runCli } from "../helpers/run-cli.ts";

// The provider's-sheet case of test/unit/render/cases.ts, given as flags.
const SHEET = [
  ...["--prefix", "2001:db8:1200:3400::/56", "--wan", "eth1", "--lan", "eth2"],
  ...["--gateway", "fe80::a611:bbff:fe7d:ee11", "--forward", "tcp/443=192.168.1.10:8443"],
  ...["--ipv4", "203.0.113.9", "--br", "2001:db8:ffff::64", "--interface-id", "1234:5678:9abc:def0"],
  ...["--update-url", "https://update.example.net/ipip?user={user}&pass={password}&ip6={ipv6}"],
];

test("render --method ipip --target shell prints the golden script; --json says method ipip", () => {
  const r = runCli(["render", "--method", "ipip", "--target", "shell", ...SHEET]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, goldenText("render/ipip.sh"));
  const json = runCli(["render", "--method", "ipip", "--target", "vyos", "--json", ...SHEET]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { method: string }).method, "ipip");
});

test("ipip without its parameters says which are missing and where they go (exit 3); bad values are usage errors", () => {
  const none = runCli([
    "render",
    "--method",
    "ipip",
    "--target",
    "shell",
    "--prefix",
    "2001:db8::/56",
    "--wan",
    "eth1",
  ]);
  assert.equal(none.code, 3, none.stderr);
  assert.ok(isOneLineError(none.stderr), none.stderr);
  assert.match(none.stderr, /--ipv4 or \[ipip\] ipv4.*--br or \[ipip\] br.*--interface-id/);
  for (const [flag, value, reason] of [
    ["--ipv4", "192.168.0.1", /private/],
    ["--interface-id", "zz", /interface ID/],
    ["--update-url", "https://{user}.example/", /not in the host/],
    ["--update-url", "https://u:p@example.net/?q={ipv6}", /must not carry user:password@/],
    ["--update-url", "https://example.net/?q={secret}", /unknown placeholder \{secret\}/],
  ] as const) {
    const r = runCli(["render", "--method", "ipip", "--target", "shell", ...SHEET, flag, value]);
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.ok(isOneLineError(r.stderr), r.stderr);
    assert.match(r.stderr, reason);
  }
  const password = runCli(["render", "--method", "ipip", "--target", "shell", ...SHEET, "--password", "x"]);
  assert.equal(password.code, 2, "there is no password flag");
});

test("a configuration holding the IPIP password is refused when others may read it, and its password never printed", () => {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-ipip-"));
  try {
    const config = join(dir, "config.toml");
    writeFileSync(config, '[ipip]\nuser = "u1"\npassword = "s3cret-PASS"\n');
    chmodSync(config, 0o644);
    const open = runCli(["render", "--method", "ipip", "--target", "nftables", "--config", config, ...SHEET]);
    assert.equal(open.code, 4, open.stderr);
    assert.ok(isOneLineError(open.stderr), open.stderr);
    assert.match(open.stderr, /mode 0644, readable by others: run chmod 600/);
    chmodSync(config, 0o600);
    const closed = runCli([
      "render",
      "--method",
      "ipip",
      "--target",
      "vyos",
      "--json",
      "--config",
      config,
      ...SHEET,
    ]);
    assert.equal(closed.code, 0, closed.stderr);
    for (const out of [open.stdout, open.stderr, closed.stdout, closed.stderr])
      assert.doesNotMatch(out, /s3cret-PASS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
