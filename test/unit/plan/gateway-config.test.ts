import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, gatewayAddress, parseConfig } from "../../../src/plan/config.ts";
import { renderNetworkd } from "../../../src/render/systemd.ts";
import { CASES, casePlan } from "../render/cases.ts";

const config = (gateway: string): string => `[tunnel]\ngateway = ${JSON.stringify(gateway)}\n`;

test("[tunnel] gateway that would add an INI section to the networkd files is refused, naming file and key", () => {
  assert.throws(
    () => parseConfig(config("fe80::1\n[Network]\nDNS=192.0.2.53"), "/etc/mapectl/config.toml"),
    (err: unknown) =>
      err instanceof ConfigError &&
      /^\/etc\/mapectl\/config\.toml: tunnel\.gateway: /.test(err.message) &&
      !err.message.includes("\n"),
  );
});

test("[tunnel] gateway must be a link-local or global unicast IPv6 address", () => {
  for (const bad of [
    "zz",
    "::",
    "::1",
    "ff02::2",
    "fd00::1",
    "::ffff:192.0.2.1",
    "fe80::1%eth0",
    "192.0.2.1",
  ]) {
    assert.throws(() => parseConfig(config(bad), "c.toml"), ConfigError, bad);
  }
  assert.equal(
    parseConfig(config("FE80::A611:BBFF:FE7D:EE11"), "c.toml").gateway,
    "fe80::a611:bbff:fe7d:ee11",
  );
  assert.equal(parseConfig(config("2001:db8::1"), "c.toml").gateway, "2001:db8::1");
});

test("--gateway passes the same check (a usage error, not a file error)", () => {
  assert.throws(() => gatewayAddress("fe80::1\n[Route]", "--gateway"), {
    name: "MapeError",
    code: "INVALID_ADDRESS",
    message: /^--gateway: /,
  });
  assert.equal(gatewayAddress("fe80::1", "--gateway"), "fe80::1");
});

test("a gateway that is not an address never reaches a networkd value", () => {
  const plan = { ...casePlan(CASES.user), gateway: "fe80::1\n[Network]\nDNS=192.0.2.53" };
  assert.throws(() => renderNetworkd(plan), /cannot be written into a systemd file/);
});
