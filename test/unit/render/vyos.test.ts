import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { GATEWAY_PLACEHOLDER } from "../../../src/plan/desired.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import {
  BOOT_BLOCK_BEGIN,
  BOOT_BLOCK_END,
  renderVyos,
  VYOS_BOOT_SCRIPT,
  VYOS_CONFIGURE_FILE,
  VYOS_NFT_PATH,
  VyosRenderError,
  vyosTunnelName,
} from "../../../src/render/vyos.ts";
import { renderDsLiteVyos } from "../../../src/render/dslite-vyos.ts";
import { renderIpipVyos } from "../../../src/render/ipip.ts";
import { CASES, casePlan, DS_LITE_CASES, IPIP_CASES } from "./cases.ts";
import { checkSet, loadSchema, VYOS_DATA } from "./vyos-schema.ts";

const DEFINITIONS = ["interfaces_tunnel.xml.in", "interfaces_ethernet.xml.in", "protocols_static.xml.in"];
const schema = loadSchema(DEFINITIONS);
/** 1.4 and 1.5: the firewall's definitions differ between them, so each line is checked against both. */
const BRANCHES = (["sagitta", "circinus"] as const).map(
  (branch) => [branch, loadSchema([...DEFINITIONS, "firewall.xml.in"], branch)] as const,
);

function checkBoth(line: string): string | null {
  for (const [branch, s] of BRANCHES) {
    const why = checkSet(s, line, branch);
    if (why !== null) return `${branch}: ${why}`;
  }
  return null;
}

/** The lines printed as comments for the user to paste: `# set …`. */
function commentedSets(script: string): string[] {
  return script
    .split("\n")
    .filter((l) => l.startsWith("# set "))
    .map((l) => l.slice(2));
}

function configure(text: string): string {
  return renderVyos(casePlan(text)).files.find((f) => f.path === VYOS_CONFIGURE_FILE)?.content ?? "";
}

function setLines(script: string): string[] {
  return script.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

test("the kept definitions are the copies SOURCES.md names, byte for byte", () => {
  const sources = readFileSync(`${VYOS_DATA}SOURCES.md`, "utf8");
  const listed = [...sources.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)];
  assert.ok(listed.length >= 20, "SOURCES.md lists the files");
  for (const [, sum, path] of listed) {
    const actual = createHash("sha256")
      .update(readFileSync(`${VYOS_DATA}${path ?? ""}`))
      .digest("hex");
    assert.equal(actual, sum, path);
  }
});

test("the definitions say what the renderer relies on: tunN, encaplimit none|0-255, mtu 68-16000, adjust-mss", () => {
  const tunnel = schema.get("interfaces")?.children.get("tunnel");
  assert.equal(checkSet(schema, "set interfaces tunnel tun0 encapsulation ipip6"), null);
  assert.deepEqual(tunnel?.constraint?.regexes, ["tun[0-9]+"]);
  assert.match(checkSet(schema, "set interfaces tunnel mape encapsulation ipip6") ?? "", /not a valid value/);
  for (const ok of ["none", "0", "255"])
    assert.equal(checkSet(schema, `set interfaces tunnel tun0 parameters ipv6 encaplimit ${ok}`), null);
  for (const bad of ["256", "-1", "off"])
    assert.notEqual(checkSet(schema, `set interfaces tunnel tun0 parameters ipv6 encaplimit ${bad}`), null);
  assert.equal(checkSet(schema, "set interfaces tunnel tun0 mtu 1460"), null);
  assert.notEqual(checkSet(schema, "set interfaces tunnel tun0 mtu 16001"), null);
  assert.equal(checkSet(schema, "set interfaces tunnel tun0 ip adjust-mss 1420"), null);
  assert.notEqual(checkSet(schema, "set interfaces tunnel tun0 ip adjust-mss 100"), null);
  assert.notEqual(checkSet(schema, "set interfaces tunnel tun0 remote any"), null);
  assert.notEqual(checkSet(schema, "set interfaces tunnel tun0 frobnicate 1"), null);
  assert.notEqual(checkSet(schema, "set protocols static route 0.0.0.1/0 interface tun0"), null);
});

for (const [name, prefix] of Object.entries(CASES)) {
  test(`${name}: every set line, live or commented, is a path VyOS 1.4 and 1.5 accept, with a value they accept`, () => {
    const script = configure(prefix);
    const lines = setLines(script);
    assert.ok(lines.length >= 12);
    for (const line of lines) assert.equal(checkBoth(line), null, line);
    const commented = commentedSets(script);
    assert.ok(commented.length >= 6);
    for (const line of commented) assert.equal(checkBoth(line), null, line);
  });

  test(`${name}: three files: the configure script, the nft table and the boot script`, () => {
    assert.deepEqual(
      renderVyos(casePlan(prefix)).files.map((f) => [f.path, f.mode]),
      [
        [VYOS_CONFIGURE_FILE, 0o644],
        [VYOS_NFT_PATH, 0o644],
        [VYOS_BOOT_SCRIPT, 0o755],
      ],
    );
  });
}

test("the user's configure script builds the tunnel, the CE address and the IPv4 route as the research says", () => {
  const lines = setLines(configure(CASES.user));
  for (const expected of [
    "set interfaces tunnel tun0 encapsulation ipip6",
    "set interfaces tunnel tun0 source-address 2404:7a82:4d02:4100:85:d10d:200:4100",
    "set interfaces tunnel tun0 remote 2001:260:700:1::1:275",
    "set interfaces tunnel tun0 source-interface eth1",
    "set interfaces tunnel tun0 parameters ipv6 encaplimit none",
    "set interfaces tunnel tun0 mtu 1460",
    "set interfaces tunnel tun0 address 133.209.13.2/32",
    "set interfaces tunnel tun0 ip adjust-mss clamp-mss-to-pmtu",
    "set interfaces ethernet eth1 address 2404:7a82:4d02:4100:85:d10d:200:4100/128",
    "set protocols static route 0.0.0.0/0 interface tun0",
    "set firewall global-options state-policy established action accept",
    "set firewall global-options state-policy related action accept",
  ]) {
    assert.ok(lines.includes(expected), expected);
  }
  assert.ok(!lines.some((l) => /\bnat\b/.test(l)), "no VyOS NAT rules: the NAPT is in mapectl's table");
});

test("conntrack stays on without a nat node: the state-policy lines come with the reason, before the tunnel", () => {
  const script = configure(CASES.user);
  const lines = setLines(script);
  const policy = lines.indexOf("set firewall global-options state-policy established action accept");
  assert.ok(policy >= 0 && policy < lines.indexOf("set interfaces tunnel tun0 encapsulation ipip6"));
  assert.match(script, /vyos_conntrack ends in notrack unless a `nat` rule/);
  assert.match(script, /deleting your last NAT rule no longer turns mapectl's NAPT off/);
  assert.doesNotMatch(script, /No `nat source` rule/);
  // the checker can say no: a state-policy action VyOS does not have
  for (const [branch, s] of BRANCHES) {
    assert.notEqual(
      checkSet(s, "set firewall global-options state-policy established action jump", branch),
      null,
    );
  }
});

test("firewall guidance: forward out of the tunnel and ip4ip6 from the BR, commented, valid on 1.4 and 1.5", () => {
  const script = configure(CASES.user);
  assert.deepEqual(
    commentedSets(script).filter((l) => l.startsWith("set firewall")),
    [
      "set firewall ipv4 forward filter rule 5 action accept",
      "set firewall ipv4 forward filter rule 5 outbound-interface name tun0",
      "set firewall ipv6 input filter rule 5 action accept",
      "set firewall ipv6 input filter rule 5 source address 2001:260:700:1::1:275",
      "set firewall ipv6 input filter rule 5 protocol 4",
    ],
  );
  assert.ok(!setLines(script).some((l) => l.includes(" filter rule ")), "no live rule with a fixed number");
  assert.match(script, /`set` on a rule number\n# you already use would change your rule/);
  assert.match(script, /The state-policy above lets\n# the replies back from the tunnel through/);
  for (const [branch, s] of BRANCHES) {
    assert.notEqual(checkSet(s, "set firewall ipv6 input filter rule 5 protocol 256", branch), null);
    assert.notEqual(checkSet(s, "set firewall ipv6 input filter rule 0 action accept", branch), null);
  }
});

test("with port forwards the forward filter guidance also lets them in from the tunnel", () => {
  const plan = casePlan(CASES.user, {
    forwards: [{ protocol: "tcp", port: 5140, toAddress: "192.168.1.10", toPort: 22 }],
  });
  const script = renderVyos(plan).files[0]?.content ?? "";
  const rules = commentedSets(script);
  for (const expected of [
    "set firewall ipv4 forward filter rule 6 inbound-interface name tun0",
    "set firewall ipv4 forward filter rule 6 connection-status nat destination",
  ]) {
    assert.ok(rules.includes(expected), expected);
  }
  for (const line of rules) assert.equal(checkBoth(line), null, line);
});

test("the BR's route is left to the RA default route; the pinned /128 is only a comment saying why", () => {
  const script = configure(CASES.user);
  assert.ok(!setLines(script).some((l) => l.includes("route6")), "no live route6");
  assert.ok(
    commentedSets(script).includes(
      "set protocols static route6 2001:260:700:1::1:275/128 next-hop fe80::a611:bbff:fe7d:ee11 interface eth1",
    ),
  );
  assert.match(script, /would black-hole the tunnel once the NGN's router answers/);
  assert.match(script, /`ipv6 address autoconf` or `address dhcpv6` on eth1/);
});

test("the nft file is the nftables renderer's table for the VyOS tunnel name", () => {
  const plan = casePlan(CASES.user);
  const nft = renderVyos(plan).files.find((f) => f.path === VYOS_NFT_PATH)?.content;
  assert.equal(nft, renderNftables({ ...plan, tunnel: { ...plan.tunnel, name: "tun0" } }));
  assert.match(nft, /oifname "tun0" meta l4proto \{ tcp, udp, icmp \} snat ip to 133\.209\.13\.2:16-255/);
  assert.match(nft, /oifname "tun0" tcp sport set tcp sport map @fold-port accept/);
});

test("the boot script keeps VyOS's first lines and marks mapectl's block for uninstall", () => {
  const boot = renderVyos(casePlan(CASES.user)).files.find((f) => f.path === VYOS_BOOT_SCRIPT)?.content ?? "";
  assert.ok(boot.startsWith("#!/bin/sh\n# This script is executed at boot time after VyOS configuration"));
  assert.equal(boot.split("\n").filter((l) => l.startsWith(BOOT_BLOCK_BEGIN)).length, 1);
  assert.ok(boot.trimEnd().endsWith(BOOT_BLOCK_END));
  assert.match(boot, /nft -f \/config\/mapectl\/mapectl\.nft/);
  assert.match(boot, /systemctl start --no-block mapectl\.service/);
});

test("tunnel names: tunN stays, anything else becomes tun0 with a warning unless it was the default", () => {
  assert.equal(vyosTunnelName("tun3"), "tun3");
  assert.equal(vyosTunnelName("mape"), "tun0");
  assert.equal(vyosTunnelName("tunnel"), "tun0");
  const tun3 = renderVyos(casePlan(CASES.user, { tunnelName: "tun3" }));
  assert.deepEqual(tun3.warnings, []);
  assert.match(tun3.files[0]?.content ?? "", /set interfaces tunnel tun3 mtu 1460/);
  assert.deepEqual(renderVyos(casePlan(CASES.user)).warnings, []);
  const odd = renderVyos(casePlan(CASES.user, { tunnelName: "wan6" }));
  assert.match(odd.warnings.join(), /tunnel is tun0, not wan6/);
});

test("a VLAN WAN becomes a vif, and the lines stay valid", () => {
  const script = renderVyos(casePlan(CASES.user, { wan: "eth1.10" })).files[0]?.content ?? "";
  assert.match(
    script,
    /^set interfaces ethernet eth1 vif 10 address 2404:7a82:4d02:4100:85:d10d:200:4100\/128$/m,
  );
  assert.match(script, /source-interface eth1\.10$/m);
  for (const line of setLines(script)) assert.equal(checkBoth(line), null, line);
});

test("a WAN that is not Ethernet cannot be rendered for VyOS", () => {
  assert.throws(() => renderVyos(casePlan(CASES.user, { wan: "ppp0" })), VyosRenderError);
});

test("without a gateway the commented route carries a marked placeholder that VyOS itself refuses", () => {
  const script = renderVyos(casePlan(CASES.user, { gateway: null })).files[0]?.content ?? "";
  const route6 = commentedSets(script).find((l) => l.includes("route6")) ?? "";
  assert.ok(route6.includes(`next-hop ${GATEWAY_PLACEHOLDER} `));
  assert.match(checkSet(schema, route6) ?? "", /not a valid value/);
  assert.match(script, /# REPLACE fe80::GATEWAY/);
  assert.match(script, /ip -6 route show default dev eth1/);
});

for (const [name, plan] of Object.entries(DS_LITE_CASES)) {
  test(`${name}: DS-Lite is one configure script whose set lines VyOS 1.4 and 1.5 accept`, () => {
    const rendered = renderDsLiteVyos(plan());
    assert.deepEqual(
      rendered.files.map((f) => f.path),
      [VYOS_CONFIGURE_FILE],
    );
    const script = rendered.files[0]?.content ?? "";
    const lines = setLines(script);
    assert.ok(lines.includes("set interfaces tunnel tun0 encapsulation ipip6"));
    assert.ok(lines.includes("set interfaces tunnel tun0 address 192.0.0.2/29"));
    assert.ok(lines.includes(`set interfaces tunnel tun0 remote ${plan().tunnel.remote}`));
    assert.ok(!lines.some((l) => l.includes(" nat ")), "no NAT: the AFTR translates");
    const placeholder = plan().tunnel.local === "WAN-IPV6-ADDRESS";
    for (const line of [...lines, ...commentedSets(script)]) {
      const why = checkBoth(line);
      // the placeholder source-address must be refused by VyOS itself, every other line accepted
      if (placeholder && line.includes("source-address")) assert.notEqual(why, null, line);
      else assert.equal(why, null, line);
    }
  });
}

for (const [name, plan] of Object.entries(IPIP_CASES)) {
  test(`${name}: IPIP's set lines are accepted by VyOS 1.4 and 1.5, and its table is mapectl's nft file`, () => {
    const rendered = renderIpipVyos(plan());
    assert.deepEqual(
      rendered.files.map((f) => f.path),
      [VYOS_CONFIGURE_FILE, VYOS_NFT_PATH, VYOS_BOOT_SCRIPT],
    );
    const script = rendered.files[0]?.content ?? "";
    const lines = setLines(script);
    const tun = name === "ipip" ? "tun0" : "tun1";
    assert.ok(lines.includes(`set interfaces tunnel ${tun} address ${plan().ipv4Address}/32`));
    assert.ok(lines.includes(`set interfaces ethernet eth1 address ${plan().ceAddress}/128`));
    assert.ok(lines.includes(`set interfaces tunnel ${tun} parameters ipv6 encaplimit none`));
    for (const line of [...lines, ...commentedSets(script)]) {
      const why = checkBoth(line);
      // the gateway placeholder must be refused by VyOS itself, every other line accepted
      if (line.includes(GATEWAY_PLACEHOLDER)) assert.notEqual(why, null, line);
      else assert.equal(why, null, line);
    }
    assert.match(rendered.files[1]?.content ?? "", new RegExp(`oifname "${tun}" ip saddr != `));
  });
}
