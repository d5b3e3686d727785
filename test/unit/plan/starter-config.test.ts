import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../../src/plan/config.ts";
import { renderStarterConfig } from "../../../src/plan/starter-config.ts";

test("the starter configuration that init writes is a valid configuration", () => {
  const text = renderStarterConfig({
    wan: "eth1",
    lan: ["eth2", "eth3"],
    prefixNote: "2404:7a82:4d02:4100::/56",
    parametersNote: "BIGLOBE",
  });
  const s = parseConfig(text, "starter.toml");
  assert.equal(s.wan, "eth1");
  assert.deepEqual(s.lan, ["eth2", "eth3"]);
  assert.equal(s.tunnelName, "mape");
  assert.equal(s.mtu, 1460);
  const undetected = parseConfig(
    renderStarterConfig({ wan: null, lan: [], prefixNote: null, parametersNote: null }),
    "x.toml",
  );
  assert.equal(undetected.wan, undefined);
  assert.equal(undetected.tunnelOwner, undefined);
});

test("on VyOS the starter configuration leaves the tunnel to VyOS (tun0, owner vyos)", () => {
  const s = parseConfig(
    renderStarterConfig({ wan: "eth1", lan: ["eth2"], prefixNote: null, parametersNote: null, vyos: true }),
    "/config/mapectl/config.toml",
  );
  assert.equal(s.tunnelName, "tun0");
  assert.equal(s.tunnelOwner, "vyos");
});
