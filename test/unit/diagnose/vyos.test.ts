import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runChecks, type DoctorInput } from "../../../src/diagnose/checks.ts";
import type { Finding } from "../../../src/diagnose/findings.ts";
import type { HostState } from "../../../src/plan/observed.ts";
import { addr, link, route } from "../../helpers/observed-hosts.ts";
import { doctorInput } from "./fixtures/doctor-input.ts";

// The seed's CE on VyOS: tun0 from `render --target vyos`, eth1 the WAN.
const CE = "2404:7a82:4d02:4100:85:d10d:200:4100";
const BR = "2001:260:700:1::1:275";
const GW = "fe80::1";
const BOOT_PATH = "/config/mapectl/mapectl.nft";

const fixtureUrl = (name: string) => new URL(`fixtures/${name}`, import.meta.url);
const ruleset = (name: string): unknown => JSON.parse(readFileSync(fixtureUrl(`vyos-${name}.json`), "utf8"));
const bootFile = readFileSync(fixtureUrl("vyos-mapectl.nft"), "utf8");
const foldBootFile = readFileSync(fixtureUrl("vyos-mapectl-fold.nft"), "utf8");

function host(): HostState {
  const tunnel = { mode: "ipip6", local: CE, remote: BR, link: "eth1", encapLimit: "none" } as const;
  return {
    links: [link("eth1", { index: 2 }), link("tun0", { index: 9, mtu: 1460, kind: "ip6tnl", tunnel })],
    addresses: [addr("eth1", CE, 128), addr("tun0", "133.209.13.2", 32, 4)],
    routes: [
      route({ family: 6, dst: "default", gateway: GW, dev: "eth1", protocol: "ra", metric: 1024 }),
      route({ family: 6, dst: `${BR}/128`, gateway: GW, dev: "eth1", protocol: "static", metric: 20 }),
      route({ family: 4, dst: "default", dev: "tun0", protocol: "static", metric: 20 }),
    ],
    ipv4Forwarding: true,
    nftTable: null,
  };
}

function input(rulesetName: string, extra: Partial<DoctorInput> = {}): DoctorInput {
  const where = { wan: "eth1", gateway: GW };
  return doctorInput(host(), ruleset(rulesetName), where, { vyos: true, ...extra });
}

const notOk = (i: DoctorInput): Finding[] => runChecks(i).findings.filter((f) => f.verdict !== "ok");
const finding = (i: DoctorInput, id: string): Finding | undefined =>
  runChecks(i).findings.find((f) => f.id === id);

test("VyOS with neither a nat node nor a stateful firewall: conntrack-off is named first, with the state-policy lines", () => {
  const problems = notOk(input("conntrack-off"));
  assert.deepEqual(
    problems.map((f) => f.id),
    ["conntrack-off"],
  );
  const f = problems[0];
  assert.equal(f?.verdict, "fail");
  assert.match(f.summary, /ip vyos_conntrack PREROUTING, ip vyos_conntrack OUTPUT end in notrack/);
  assert.match(f.summary, /deleting the last one turns it off/);
  assert.deepEqual(f.vyosFix, [
    "# a global state-policy keeps conntrack on however NAT and firewall rules change",
    "set firewall global-options state-policy established action accept",
    "set firewall global-options state-policy related action accept",
    "commit",
  ]);
  assert.ok(f.fix.includes("nft insert rule ip vyos_conntrack FW_CONNTRACK accept"), f.fix.join("\n"));
});

test("VyOS keeps conntrack on with the global state-policy, or while a nat node exists: nothing to report", () => {
  for (const name of ["state-policy", "nat-only"]) {
    assert.deepEqual(notOk(input(name)), [], name);
    assert.equal(finding(input(name), "conntrack-off")?.verdict, "ok");
  }
});

test("a forward filter with default drop and no established accept drops the replies from tun0: firewall-drops, fixed by the state-policy", () => {
  const f = finding(input("forward-drop"), "firewall-drops");
  assert.equal(f?.verdict, "fail");
  assert.match(
    f.summary,
    /ip vyos_filter VYOS_FORWARD_filter \("FWD-filter default-action drop"\) drops the replies coming back from tun0/,
  );
  assert.deepEqual(f.vyosFix, [
    "set firewall global-options state-policy established action accept",
    "set firewall global-options state-policy related action accept",
    "commit",
  ]);
  assert.deepEqual(f.fix, [
    "nft insert rule ip vyos_filter VYOS_FORWARD_filter iifname tun0 ct state established,related accept",
  ]);
  assert.equal(finding(input("forward-drop-fixed"), "firewall-drops")?.verdict, "ok");
  assert.deepEqual(notOk(input("forward-drop-fixed")), []);
});

test("an IPv6 input filter with default drop and no accept for protocol 4 from the BR: firewall-drops with a rule before the filter's first", () => {
  const f = finding(input("input-drop"), "firewall-drops");
  assert.equal(f?.verdict, "fail");
  assert.match(f.summary, /ip6 vyos_filter VYOS_IPV6_INPUT_filter .* drops the BR's IPv4-in-IPv6 packets/);
  assert.deepEqual(f.vyosFix, [
    "set firewall ipv6 input filter rule 15 action accept",
    `set firewall ipv6 input filter rule 15 source address ${BR}`,
    "set firewall ipv6 input filter rule 15 protocol 4",
    "commit",
  ]);
  assert.deepEqual(f.fix, [
    `nft insert rule ip6 vyos_filter VYOS_IPV6_INPUT_filter ip6 saddr ${BR} meta l4proto 4 accept`,
  ]);
  assert.equal(finding(input("input-drop-fixed"), "firewall-drops")?.verdict, "ok");
});

test("an IPv6 input filter that accepts only established traffic loses what the BR starts: a warning", () => {
  const f = finding(input("input-drop-established"), "firewall-drops");
  assert.equal(f?.verdict, "warn");
  assert.match(f.summary, /ten idle minutes/);
});

test("boot-table-stale: the boot file of this prefix matching the running table is fine", () => {
  const f = finding(
    input("state-policy", { bootTable: { path: BOOT_PATH, text: bootFile } }),
    "boot-table-stale",
  );
  assert.equal(f?.verdict, "ok", f?.summary);
  assert.equal(finding(input("state-policy"), "boot-table-stale"), undefined, "no hook, no check");
});

test("boot-table-stale under the fold allocator: the file and the running table are read by their wire ports", () => {
  const fine = finding(
    input("state-policy-fold", { bootTable: { path: BOOT_PATH, text: foldBootFile } }),
    "boot-table-stale",
  );
  assert.equal(fine?.verdict, "ok", fine?.summary);
  // the fold maps 16-255 onto PSID 65's blocks, the first of which is 5136-5151
  assert.match(fine.summary, /133\.209\.13\.2 ports 5136-5151,9232-9247/);

  // a fold file whose map is another PSID's (66: 5152-5167 …) is another prefix's NAPT
  const otherPsid = foldBootFile.replace(/ : ([0-9]+)/g, (_, p: string) => ` : ${Number(p) + 16}`);
  const stale = finding(
    input("state-policy-fold", { bootTable: { path: BOOT_PATH, text: otherPsid } }),
    "boot-table-stale",
  );
  assert.equal(stale?.verdict, "fail");
  assert.match(stale.summary, /is the NAPT of another prefix \(133\.209\.13\.2 ports 5152-5167/);

  // round robin's file against the fold's running table: same wire ports, so the same NAPT
  const mixed = finding(
    input("state-policy-fold", { bootTable: { path: BOOT_PATH, text: bootFile } }),
    "boot-table-stale",
  );
  assert.equal(mixed?.verdict, "ok", mixed?.summary);
});

test("boot-table-stale: a boot file of another prefix, one the running table does not match, or none at all", () => {
  const other = bootFile.replaceAll("133.209.13.2", "133.209.13.3");
  const stale = finding(
    input("state-policy", { bootTable: { path: BOOT_PATH, text: other } }),
    "boot-table-stale",
  );
  assert.equal(stale?.verdict, "fail");
  assert.match(stale.summary, /is the NAPT of another prefix \(133\.209\.13\.3 ports 5136-5151/);
  assert.ok(stale.fix.some((l) => l.startsWith("mapectl render --target vyos --wan eth1 --output-dir")));
  assert.ok(stale.fix.includes(`sudo nft -f ${BOOT_PATH}`));

  // the file matches the plan, the running table does not (a table of the old prefix still loaded)
  const runningOld = JSON.parse(
    JSON.stringify(ruleset("state-policy")).replaceAll("133.209.13.2", "133.209.13.3"),
  ) as unknown;
  const lagging = finding(
    input("state-policy", { ruleset: runningOld, bootTable: { path: BOOT_PATH, text: bootFile } }),
    "boot-table-stale",
  );
  assert.equal(lagging?.verdict, "fail");
  assert.match(lagging.summary, /differs from the running ip mapectl table/);

  const missing = finding(
    input("state-policy", { bootTable: { path: BOOT_PATH, text: null } }),
    "boot-table-stale",
  );
  assert.equal(missing?.verdict, "fail");
  assert.match(missing.summary, /does not exist: after a reboot there is no NAPT/);
});
