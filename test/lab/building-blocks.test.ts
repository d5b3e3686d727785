import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BORDER_RELAYS, CE, GUEST, INET, NGN, NS } from "../../lab/addresses.ts";
import { capture } from "../../lab/capture.ts";
import { resetCe } from "../../lab/ce-reset.ts";
import { connectMany } from "../../lab/clients.ts";
import {
  noRouteToBr,
  removeCeAddress,
  removeSecondCe,
  secondCeOnLine,
  strictBrWithEncapLimit,
} from "../../lab/faults.ts";
import type { Lab } from "../../lab/lab.ts";
import { applyReferenceCe } from "../../lab/reference-ce.ts";
import { portInSet } from "../../src/mape/port-set.ts";
import { useLab } from "../helpers/lab.ts";

const { skip, lab: booted } = useLab();

async function freshCe(): Promise<Lab> {
  const l = booted();
  await resetCe(l.guest);
  await l.isp.setBrOptions({ strictEncapLimit: false });
  return l;
}

interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
}

test(
  "the CE boots like a fresh router: link-local WAN, RA default route, the /56 by DHCPv6-PD, no MAP-E",
  { skip },
  async () => {
    const l = await freshCe();
    const snap = await l.snapshot(NS.ce);
    const wan = (snap.addresses as { ifname: string; addr_info: { local: string; scope: string }[] }[]).find(
      (a) => a.ifname === CE.wan,
    );
    assert.deepEqual(
      wan?.addr_info.map((a) => `${a.local} ${a.scope}`),
      [`${CE.wanLinkLocal} link`],
    );
    const routes = snap.routes6 as Route[];
    const def = routes.find((r) => r.dst === "default");
    assert.equal(def?.gateway, NGN.routerLinkLocal);
    assert.equal(def.protocol, "ra");
    assert.ok(
      routes.some((r) => r.type === "unreachable" && r.dst === l.prefix),
      "the delegated /56",
    );
    assert.deepEqual(
      (snap.nft as Record<string, unknown>[]).filter((o) => "table" in o),
      [],
      "no nftables tables",
    );
    assert.equal((await l.run(NS.ce, ["sysctl", "-n", "net.ipv4.ip_forward"])).trim(), "1");
    assert.ok(!snap.links.some((k) => (k as { ifname: string }).ifname === "mape"), "no tunnel");
  },
);

test(
  "the NGN's resolver answers the HB46PP TXT record and the provisioning server answers over HTTPS",
  { skip },
  async () => {
    const l = booted();
    const txt = await l.run(NS.ce, ["kdig", `@${NGN.dns}`, "+short", "TXT", "4over6.info"]);
    assert.equal(txt.trim(), `"v=v6mig-1 url=https://${NGN.provisioningHost}/config t=b"`);
    const url = `https://${NGN.provisioningHost}/config?vendorid=acde48-v6pc_swg_hgw&product=V6MIG-ROUTER&version=0_00&capability=map_e`;
    const body = await l.run(NS.ce, ["curl", "-sS", "--cacert", GUEST.caCert, "-m", "10", url]);
    const answer = JSON.parse(body) as {
      order: string[];
      map_e: { br: string; version: number; rules: unknown[] };
    };
    assert.deepEqual(answer.order, ["map_e"]);
    assert.equal(answer.map_e.br, "2001:260:700:1::1:275");
    assert.equal(answer.map_e.version, 0);
    assert.ok(answer.map_e.rules.some((r) => (r as { ipv6: string }).ipv6 === "2404:7a82:4c00::/38"));
    const asked = await l.isp.provisioningRequests();
    assert.equal((asked.at(-1)?.query as Record<string, string> | undefined)?.product, "V6MIG-ROUTER");
  },
);

test("240 concurrent TCP connections use all 240 ports of PSID 65, 16 per block", { skip }, async () => {
  const l = await freshCe();
  const config = await applyReferenceCe(l, l.prefix);
  const { psidOffset, psidLength } = config.resolved.params.rule;
  const result = await connectMany(l, 240, INET.hosts[1], INET.manyPort, 60);
  assert.equal(result.ok, 240);
  const ports = result.seen.map((s) => s.sport);
  assert.equal(new Set(ports).size, 240);
  assert.ok(ports.every((p) => portInSet(p, psidOffset, psidLength, 65)));
  assert.ok(result.seen.every((s) => s.src === "133.209.13.2"));
  const perBlock = new Map<number, number>();
  for (const p of ports) perBlock.set(p >> 12, (perBlock.get(p >> 12) ?? 0) + 1);
  assert.deepEqual([...perBlock.values()], Array<number>(15).fill(16));
});

test(
  "capture: the tunnel's packets on the line are IPv4 in IPv6 from the CE address to the BR",
  { skip },
  async () => {
    const l = await freshCe();
    const config = await applyReferenceCe(l, l.prefix);
    const pcap = await capture(l, NS.ngn, NGN.bridge, ["ip6"]);
    await l.run(NS.lan, ["ping", "-c", "2", "-W", "3", INET.hosts[0]]);
    const file = await pcap.stop();
    const text = spawnSync("tcpdump", ["-nn", "-r", file], { encoding: "utf8" }).stdout;
    assert.match(
      text,
      new RegExp(
        `IP6 ${config.ceAddress} > ${config.br}: IP 133\\.209\\.13\\.2 > 8\\.8\\.8\\.8: ICMP echo request`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `IP6 ${config.br} > ${config.ceAddress}: IP 8\\.8\\.8\\.8 > 133\\.209\\.13\\.2: ICMP echo reply`,
      ),
    );
  },
);

test("fault: a strict BR drops a tunnel with the default encaplimit, and counts it", { skip }, async () => {
  const l = await freshCe();
  await applyReferenceCe(l, l.prefix);
  await strictBrWithEncapLimit(l);
  await l.isp.resetCounters();
  const ping = await l.exec(NS.lan, ["ping", "-c", "2", "-W", "2", INET.hosts[0]]);
  assert.notEqual(ping.code, 0, "ping fails");
  const counters = await l.isp.counters();
  assert.ok((counters.biglobe_east_dstopt?.packets ?? 0) >= 2, JSON.stringify(counters.biglobe_east_dstopt));
  assert.equal(counters.biglobe_east_decap?.packets, 0);
});

test("fault: without the CE address on the WAN nothing leaves the tunnel", { skip }, async () => {
  const l = await freshCe();
  await applyReferenceCe(l, l.prefix);
  await removeCeAddress(l);
  await l.isp.resetCounters();
  const before = await l.linkStats(NS.ce, "mape");
  const ping = await l.exec(NS.lan, ["ping", "-c", "2", "-W", "2", INET.hosts[0]]);
  assert.notEqual(ping.code, 0);
  const after = await l.linkStats(NS.ce, "mape");
  assert.equal(after.txPackets - before.txPackets, 0, "the tunnel sent nothing");
  assert.ok(
    after.txErrors + after.txDropped > before.txErrors + before.txDropped,
    "it counted errors instead",
  );
  const counters = await l.isp.counters();
  assert.ok(BORDER_RELAYS.every((b) => (counters[`${b.id}_decap`]?.packets ?? 0) === 0));
});

test("fault: with no route to the BR the ping fails and the tunnel counts errors", { skip }, async () => {
  const l = await freshCe();
  await applyReferenceCe(l, l.prefix);
  await noRouteToBr(l);
  const before = await l.linkStats(NS.ce, "mape");
  const ping = await l.exec(NS.lan, ["ping", "-c", "2", "-W", "2", INET.hosts[0]]);
  assert.notEqual(ping.code, 0);
  const after = await l.linkStats(NS.ce, "mape");
  assert.ok(
    after.txErrors + after.txDropped > before.txErrors + before.txDropped || /errors/.test(ping.stdout),
  );
});

test(
  "fault: a second CE on the line with the same CE address gets no replies; the first still works",
  { skip },
  async () => {
    const l = await freshCe();
    await applyReferenceCe(l, l.prefix);
    await secondCeOnLine(l);
    try {
      const second = await l.exec("ce2", ["ping", "-c", "2", "-W", "2", INET.hosts[0]]);
      assert.notEqual(second.code, 0, "the replies go to the CE the ngn routes the /56 to");
      const first = await l.exec(NS.lan, ["ping", "-c", "2", "-W", "3", INET.hosts[0]]);
      assert.equal(first.code, 0, first.stdout);
    } finally {
      await removeSecondCe(l);
    }
  },
);

test("setPrefix: Kea delegates a new /56, the CE sees it, the BR serves the new CE", { skip }, async () => {
  const l = await freshCe();
  const next = "2404:7a82:4d02:4200::/56";
  await l.isp.setPrefix(next);
  const routes = JSON.parse(
    await l.run(NS.ce, ["ip", "-6", "-j", "route", "show", "type", "unreachable"]),
  ) as Route[];
  assert.deepEqual(
    routes.map((r) => r.dst),
    [next],
  );
  assert.equal(l.isp.servedCes[0]?.ceAddress, "2404:7a82:4d02:4200:85:d10d:200:4200");
  assert.equal(l.isp.servedCes[0].psid, 66);
  const config = await applyReferenceCe(l, next);
  await l.clearRecords();
  await l.run(NS.lan, ["ping", "-c", "2", "-W", "3", INET.hosts[0]]);
  const echo = (await l.records()).filter((r) => r.proto === "icmp");
  assert.ok(echo.length >= 2);
  const { psidOffset, psidLength } = config.resolved.params.rule;
  assert.ok(echo.every((r) => r.id !== undefined && portInSet(r.id, psidOffset, psidLength, 66)));
});
