import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfig } from "../../../src/plan/config.ts";

test("a full config file maps onto the settings", () => {
  const s = parseConfig(
    `
wan = "eth1"
lan = ["eth2"]
[parameters]
source = "manual"
prefix = "2404:7a82:4d02:4100::/56"
interface-id = "draft-03"
[parameters.rule]
ipv6-prefix = "2404:7a82:4c00::/38"
ipv4-prefix = "133.209.12.0/22"
ea-bits = 18
psid-offset = 4
br = "2001:260:700:1::1:275"
[tunnel]
name = "mape"
mtu = 1460
owner = "vyos"
[routing]
default-route-metric = 5
replace-default = true
[[forward]]
protocol = "tcp"
port = 5140
to = "192.168.1.10:22"
[nat]
tcp-time-wait = 10
`,
    "config.toml",
  );
  assert.equal(s.wan, "eth1");
  assert.deepEqual(s.lan, ["eth2"]);
  assert.equal(s.source, "manual");
  assert.equal(s.rule?.eaBits, 18);
  assert.equal(s.rule.br, "2001:260:700:1::1:275");
  assert.equal(s.defaultRouteMetric, 5);
  assert.equal(s.replaceDefault, true);
  assert.deepEqual(s.forwards, [{ protocol: "tcp", port: 5140, toAddress: "192.168.1.10", toPort: 22 }]);
  assert.equal(s.tcpTimeWait, 10);
  assert.equal(s.tunnelOwner, "vyos");
});

test("each problem in a config file is named with its key path", () => {
  const cases: [string, RegExp][] = [
    ["wan = ", /not valid TOML/],
    ['wan = "eth1"\nlna = ["eth2"]', /Unrecognized key.*lna|lna/],
    ['[tunnel]\nmtu = "big"', /tunnel\.mtu/],
    ['[[forward]]\nprotocol = "sctp"\nport = 1\nto = "192.168.1.2"', /forward\.0\.protocol/],
    ['[[forward]]\nprotocol = "tcp"\nport = 70000\nto = "192.168.1.2"', /forward\.0\.port/],
    [
      '[[forward]]\nprotocol = "tcp"\nport = 5140\nto = "host.lan"',
      /forward\[0\]\.to: "host\.lan" is not an inside IPv4 address/,
    ],
    ['[parameters]\nsource = "manual"', /needs a \[parameters\.rule\]/],
    ['[nat]\ntcp-time-wait = "short"', /nat\.tcp-time-wait/],
    ['[tunnel]\nowner = "edgeos"', /tunnel\.owner/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseConfig(text, "/etc/mapectl/config.toml"),
      (err) =>
        err instanceof ConfigError &&
        err.message.startsWith("/etc/mapectl/config.toml: ") &&
        message.test(err.message),
      text,
    );
  }
});
