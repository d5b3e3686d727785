import assert from "node:assert/strict";
import { test } from "node:test";
import { goldenText } from "../helpers/golden.ts";
import { isOneLineError, runCli } from "../helpers/run-cli.ts";

// The v6コネクト case of test/unit/render/cases.ts, rendered away from the router with --aftr.
const AWAY = [
  ...["--prefix", "2405:6581:1:2300::/56", "--wan", "eth1", "--lan", "eth2"],
  ...["--gateway", "fe80::a611:bbff:fe7d:ee11", "--tunnel-name", "tun0", "--aftr", "2405:6580:ffff::1"],
];

test("render --method ds-lite --target shell prints the golden script, warning of the WAN address placeholder", () => {
  const r = runCli(["render", "--method", "ds-lite", "--target", "shell", ...AWAY]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /placeholder WAN-IPV6-ADDRESS/);
  assert.equal(r.stdout, goldenText("render/ds-lite-away.sh"));
});

test("render --json carries the method: ds-lite, map-e, and null for a target without a plan", () => {
  const dsLite = runCli(["render", "--method", "ds-lite", "--target", "vyos", "--json", ...AWAY]);
  assert.equal(dsLite.code, 0, dsLite.stderr);
  assert.equal((JSON.parse(dsLite.stdout) as { method: string }).method, "ds-lite");
  const mapE = runCli([
    "render",
    "--method",
    "auto",
    "--target",
    "nftables",
    "--json",
    ...["--prefix", "2404:7a82:4d02:4100::/56", "--wan", "eth1"],
  ]);
  assert.equal(mapE.code, 0, mapE.stderr);
  assert.equal((JSON.parse(mapE.stdout) as { method: string }).method, "map-e");
  const unit = runCli(["render", "--target", "systemd-unit", "--json"]);
  assert.equal((JSON.parse(unit.stdout) as { method: null }).method, null);
});

test("an unknown --method is a one-line usage error (2) naming the methods", () => {
  const r = runCli(["render", "--method", "6rd", "--target", "shell", ...AWAY]);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(isOneLineError(r.stderr), r.stderr);
  assert.match(r.stderr, /must be one of auto, map-e, ds-lite, ipip/);
});

test("ds-lite without any AFTR source, or with a bad --aftr, says what is missing and where it comes from", () => {
  const none = runCli([
    "render",
    "--method",
    "ds-lite",
    "--target",
    "shell",
    ...["--prefix", "2404:7a82:4d02:4100::/56", "--wan", "eth1"],
  ]);
  assert.equal(none.code, 3, none.stderr);
  assert.ok(isOneLineError(none.stderr), none.stderr);
  assert.match(none.stderr, /no AFTR.*DHCPv6 option 64.*--aftr/);
  const bad = runCli([
    "render",
    "--method",
    "ds-lite",
    "--target",
    "shell",
    ...AWAY,
    "--aftr",
    "a_b.example",
  ]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--aftr: .*not a host name label/);
});

test("auto on a transix prefix is DS-Lite: an AFTR name that does not resolve is exit 3 naming the name and the resolver", () => {
  // 127.0.0.9:53 has no DNS server here: the answer is a refusal (ICMP port unreachable), at once.
  const r = runCli([
    "render",
    "--method",
    "auto",
    "--target",
    "shell",
    ...["--prefix", "2404:8e00:12:3400::/56", "--wan", "eth1", "--resolver", "127.0.0.9"],
  ]);
  assert.equal(r.code, 3, r.stderr);
  assert.ok(isOneLineError(r.stderr), r.stderr);
  assert.match(r.stderr, /AFTR name gw\.transix\.jp \(from tables\) does not resolve .* via 127\.0\.0\.9/);
});
