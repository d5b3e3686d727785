import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "node:test";
import { renderNftables } from "../../../src/render/nftables.ts";
import { NETWORKD_NFT_PATH, renderNetworkd, renderSystemdUnit } from "../../../src/render/systemd.ts";
import { renderDsLiteNetworkd } from "../../../src/render/dslite.ts";
import { CASES, casePlan, dsLiteCasePlan, dsLitePdOnlyPlan, USER_GATEWAY } from "./cases.ts";

type Ini = Map<string, Map<string, string[]>>;

function parseIni(text: string): Ini {
  const sections: Ini = new Map();
  let current: Map<string, string[]> | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      current = sections.get(header[1] ?? "") ?? new Map<string, string[]>();
      sections.set(header[1] ?? "", current);
      continue;
    }
    const kv = /^([A-Za-z0-9]+)=(.*)$/.exec(line);
    assert.ok(kv !== null && current !== null, `not a key=value in a section: ${line}`);
    current.set(kv[1] ?? "", [...(current.get(kv[1] ?? "") ?? []), kv[2] ?? ""]);
  }
  return sections;
}

function value(ini: Ini, section: string, key: string): string | undefined {
  return ini.get(section)?.get(key)?.[0];
}

// networkd's own table of settings ("Section.Key", from its gperf files) is in its binary.
const NETWORKD = "/lib/systemd/systemd-networkd";
function networkdKeys(): Set<string> {
  const text = readFileSync(NETWORKD).toString("latin1");
  return new Set(
    [...text.matchAll(/\0([A-Z][A-Za-z0-9]*\.[A-Z][A-Za-z0-9]*)(?=\0)/g)].map((m) => m[1] ?? ""),
  );
}

test(
  "every networkd setting rendered is one the installed systemd-networkd knows, in the right section",
  { skip: !existsSync(NETWORKD) && "systemd-networkd is not installed" },
  () => {
    const known = networkdKeys();
    assert.ok(
      known.has("Tunnel.EncapsulationLimit") && known.has("Network.Tunnel"),
      "the key table was found",
    );
    // MAP-E, and DS-Lite on a line that only delegates a prefix (the B4 source's [Address] too)
    for (const file of [
      ...renderNetworkd(casePlan(CASES.user)),
      ...renderDsLiteNetworkd(dsLitePdOnlyPlan()),
    ]) {
      if (!/\.(network|netdev)$/.test(file.path)) continue;
      for (const [section, keys] of parseIni(file.content)) {
        for (const key of keys.keys())
          assert.ok(known.has(`${section}.${key}`), `${basename(file.path)}: [${section}] ${key}=`);
      }
    }
  },
);

test("the networkd files carry the plan: ipip6 tunnel without encapsulation limit, CE /128, BR route, IPv4 default", () => {
  const plan = casePlan(CASES.user);
  const files = renderNetworkd(plan);
  const byName = new Map(
    files
      .filter((f) => /\.(network|netdev)$/.test(f.path))
      .map((f) => [basename(f.path), parseIni(f.content)]),
  );
  const netdev = byName.get("50-mapectl-mape.netdev");
  assert.ok(netdev !== undefined);
  assert.equal(value(netdev, "NetDev", "Kind"), "ip6tnl");
  assert.equal(value(netdev, "NetDev", "MTUBytes"), "1460");
  assert.equal(value(netdev, "Tunnel", "Mode"), "ipip6");
  assert.equal(value(netdev, "Tunnel", "Local"), plan.ceAddress);
  assert.equal(value(netdev, "Tunnel", "Remote"), plan.br);
  assert.equal(value(netdev, "Tunnel", "EncapsulationLimit"), "none");
  const wan = byName.get("10-mapectl-eth1.network");
  assert.ok(wan !== undefined);
  assert.equal(value(wan, "Match", "Name"), "eth1");
  assert.equal(value(wan, "Network", "Tunnel"), "mape");
  assert.equal(value(wan, "Address", "Address"), `${plan.ceAddress}/128`);
  assert.equal(value(wan, "Route", "Destination"), `${plan.br}/128`);
  assert.equal(value(wan, "Route", "Gateway"), USER_GATEWAY);
  const tunnel = byName.get("50-mapectl-mape.network");
  assert.ok(tunnel !== undefined);
  assert.equal(value(tunnel, "Network", "Address"), "133.209.13.2/32");
  assert.equal(value(tunnel, "Route", "Destination"), "0.0.0.0/0");
  for (const ini of [netdev, wan, tunnel]) {
    for (const [, keys] of ini) {
      for (const [key, values] of keys) {
        for (const v of values) {
          if (["Local", "Remote", "Gateway"].includes(key)) assert.ok(isIPv6(v), `${key}=${v}`);
          if (["Address", "Destination"].includes(key)) {
            const [a = "", len = ""] = v.split("/");
            assert.ok((isIPv4(a) || isIPv6(a)) && /^\d+$/.test(len), `${key}=${v}`);
          }
        }
      }
    }
  }
  assert.equal(files.find((f) => f.path === NETWORKD_NFT_PATH)?.content, renderNftables(plan));
  assert.match(files.find((f) => f.path.endsWith(".conf"))?.content ?? "", /^net\.ipv4\.ip_forward = 1$/m);
});

test("DS-Lite on a line that only delegates a prefix: the WAN gets the B4 source /128 the tunnel leaves from, no DAD", () => {
  const plan = dsLitePdOnlyPlan();
  const ini = (suffix: string) => {
    const file = renderDsLiteNetworkd(plan).find((f) => f.path.endsWith(suffix));
    assert.ok(file !== undefined, suffix);
    return parseIni(file.content);
  };
  assert.equal(value(ini("dslite.netdev"), "Tunnel", "Local"), "2404:8e00:12:34ff::b4");
  const wan = ini("10-mapectl-eth1.network");
  assert.deepEqual(wan.get("Address")?.get("Address"), ["2404:8e00:12:34ff::b4/128"]);
  assert.equal(value(wan, "Address", "DuplicateAddressDetection"), "none");
  // a WAN with its own address gets no address of mapectl's
  const own = renderDsLiteNetworkd(dsLiteCasePlan()).find((f) => f.path.endsWith("10-mapectl-eth1.network"));
  assert.equal(parseIni(own?.content ?? "").get("Address"), undefined);
});

function verifyUnit(content: string, name: string): void {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-unit-"));
  try {
    const path = join(dir, name);
    writeFileSync(path, content);
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", path], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", "systemd-analyze has no complaint (unknown keys are only warnings)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

test("the daemon's unit is hardened and runs mapectl watch", () => {
  const unit = renderSystemdUnit({ command: ["/usr/sbin/mapectl"] });
  const ini = parseIni(unit.content);
  assert.equal(value(ini, "Service", "Type"), "exec");
  assert.equal(value(ini, "Service", "ExecStart"), "/usr/sbin/mapectl watch");
  assert.equal(value(ini, "Service", "Restart"), "on-failure");
  assert.equal(value(ini, "Service", "ProtectSystem"), "strict");
  assert.equal(value(ini, "Service", "NoNewPrivileges"), "yes");
  assert.equal(value(ini, "Service", "ReadWritePaths"), "/var/lib/mapectl /run/mapectl");
  assert.match(
    value(ini, "Service", "CapabilityBoundingSet") ?? "",
    /^CAP_NET_ADMIN CAP_NET_RAW( CAP_NET_BIND_SERVICE)?$/,
  );
  assert.equal(value(ini, "Service", "AmbientCapabilities"), value(ini, "Service", "CapabilityBoundingSet"));
  // started beside networkd, not after it nor after network-online: the daemon waits for the prefix
  // itself, and its start-up is seconds on a slow router; the default dependencies stay (the sandbox
  // of an early-boot service is not counted by systemd-analyze security)
  assert.equal(value(ini, "Unit", "After"), "nftables.service");
  assert.equal(value(ini, "Unit", "DefaultDependencies"), undefined);
  assert.equal(value(ini, "Unit", "Wants"), "network-online.target");
  const vyos = renderSystemdUnit({
    command: ["/config/mapectl/mapectl"],
    watchArgs: ["--config", "/config/mapectl/config.toml"],
    extraWritablePaths: ["/config/mapectl"],
  });
  assert.match(
    vyos.content,
    /^ExecStart=\/config\/mapectl\/mapectl watch --config \/config\/mapectl\/config\.toml$/m,
  );
  assert.match(vyos.content, /^ReadWritePaths=\/var\/lib\/mapectl \/run\/mapectl \/config\/mapectl$/m);
  assert.match(
    renderSystemdUnit({ command: ["/opt/my tools/mapectl"] }).content,
    /^ExecStart="\/opt\/my tools\/mapectl" watch$/m,
  );
});

test(
  "systemd-analyze verify accepts the daemon's unit and the nft loader unit",
  { skip: !hasAnalyze && "systemd-analyze is not installed" },
  () => {
    // verify wants ExecStart's program to exist; the unit is the same for any path.
    verifyUnit(renderSystemdUnit({ command: [process.execPath] }).content, "mapectl.service");
    const loader = renderNetworkd(casePlan(CASES.user)).find((f) => f.path.endsWith("mapectl-nft.service"));
    assert.ok(loader !== undefined);
    if (existsSync("/usr/sbin/nft")) verifyUnit(loader.content, "mapectl-nft.service");
  },
);
