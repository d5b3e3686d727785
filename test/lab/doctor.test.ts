import assert from "node:assert/strict";
import { test } from "node:test";
import { CE, DEFAULT_PREFIX, INET, NGN, NS } from "../../lab/addresses.ts";
import { connectMany } from "../../lab/clients.ts";
import {
  ceTunnel,
  moveCeAddress,
  noRouteToBr,
  removeCeAddress,
  removeSecondCe,
  secondCeOnLine,
  SEED,
  seedConfiguration,
  wrongBr,
} from "../../lab/faults.ts";
import { httpFromLan, pingFromLan } from "../../lab/scenarios/probes.ts";
import { sleep } from "../../lab/wait.ts";
import { portInSet } from "../../src/mape/port-set.ts";
import {
  assertCounted,
  assertSeedVyosFix,
  BIGLOBE_BR,
  brief,
  ceAddresses,
  failures,
  JPNE_BR,
  ownTraffic,
  synMss,
  useDoctorLab,
} from "../helpers/doctor-lab.ts";

// Proves `mapectl doctor` on a real kernel. A healthy CE (made by mapectl, and by hand)
// gets no failure; every fault, injected into a working CE, is named first with a fix; the fix,
// run exactly as printed (sh -c in the ce namespace), brings the path back and doctor to clean.
// The seed's own configuration, typed in with the work log's commands, is named in full.
// Strict BRs (they drop a Destination Options header) from the start: encaplimit matters.
const { skip, doctor: d } = useDoctorLab();

/** Another BIGLOBE /56 of the same rule: IPv4 133.209.13.3, PSID 64 (the default is .2, PSID 65). */
const OTHER_BIGLOBE = "2404:7a82:4d03:4000::/56";
const TRANSIX = "2404:8e00:1234:5600::/56";
const TRANSIX_AFTR = "2404:8e00::feed:100";

/** Every check id the issue names; the last test proves each was the first finding of a scenario. */
const REQUIRED_IDS = [
  "br-mismatch",
  "ce-address-mismatch",
  "ce-address-missing",
  "ce-address-duplicate",
  "br-route",
  "encap-limit",
  "mtu-mss",
  "nat-port-coverage",
  "nat-icmp",
  "nat-source-restricted",
  "nat-outside-port-set",
  "ipv4-default-route",
  "prefix-changed",
  "not-mape-line",
] as const;

// ---------------------------------------------------------------- healthy CEs: no false alarms

d.scenario(
  "healthy CE made by mapectl up: doctor exits 0, no failure, and --probe gets answers",
  async () => {
    const l = await d.workingCe("mapectl");
    await d.assertPathWorks("mapectl's CE");
    // one run: the checks and the probes (ICMP, UDP, TCP through the tunnel with a WAN capture)
    const doc = await d.assertClean("mapectl's CE", ["--probe"]);
    assert.equal(doc.tunnel, "mape");
    const probe = doc.findings.find((f) => f.id === "probe-path");
    assert.equal(probe?.verdict, "ok", probe?.summary);
    assert.match(probe.summary, new RegExp(`([1-9][0-9]*) sent to BR ${BIGLOBE_BR}, [1-9][0-9]* received`));
    await assertCounted(l, ["biglobe_east_decap"], "the BR decapsulated the probes");
    d.healthy("mapectl");
  },
);

// ---------------------------------------------------------------- faults on mapectl's CE

d.scenario("br-mismatch: the tunnel to JPNE's BR on a BIGLOBE line; --probe shows 0 received", async () => {
  const l = await d.workingCe("mapectl");
  await wrongBr(l, JPNE_BR);
  await d.assertPathBroken("tunnel to JPNE's BR");
  await assertCounted(l, ["jpne_unknown_ce"], "JPNE's BR drops an unknown CE");
  const { finding, doc } = await d.assertFirst("br-mismatch", ["--probe"]);
  assert.match(finding.summary, new RegExp(`sends to ${JPNE_BR} \\(the BR of v6プラス\\).*BR ${BIGLOBE_BR}`));
  assert.ok(finding.fix.some((c) => c.includes(`remote ${BIGLOBE_BR}`)));
  const probe = doc.findings.find((f) => f.id === "probe-path");
  assert.equal(probe?.verdict, "fail");
  const sent = new RegExp(`([0-9]+) sent to BR ${JPNE_BR.replaceAll(".", "\\.")}, 0 received`).exec(
    probe.summary,
  );
  assert.ok(
    sent !== null && Number(sent[1]) >= 3,
    `probe: "N sent to BR ${JPNE_BR}, 0 received": ${probe.summary}`,
  );
  assert.match(probe.summary, /packets leave, nothing comes back/);
  await d.fixed(finding, "the BIGLOBE BR", "mapectl");
});

d.scenario("ce-address-missing: the CE /128 removed from the WAN", async () => {
  const l = await d.workingCe("mapectl");
  await removeCeAddress(l);
  await d.assertPathBroken("no CE address");
  await d.faultFixed("ce-address-missing", "CE address added back", "mapectl");
});

d.scenario("br-route: the BR routed on-link instead of via the link-local router", async () => {
  const l = await d.workingCe("mapectl");
  const t = await ceTunnel(l);
  // every route to the BR goes, then the on-link one a mis-configured router has
  while ((await l.exec(NS.ce, ["ip", "-6", "route", "del", `${t.remote}/128`])).code === 0);
  await l.run(NS.ce, ["ip", "-6", "route", "add", `${t.remote}/128`, "dev", CE.wan]);
  await d.assertPathBroken("BR on-link");
  const finding = await d.faultFixed("br-route", "via the router", "mapectl");
  assert.deepEqual(finding.fix, [
    `ip -6 route replace ${t.remote}/128 via ${NGN.routerLinkLocal} dev ${CE.wan}`,
  ]);
  assert.match(finding.summary, /routed on-link/);
});

d.scenario("br-route: no route to the BR at all (and no IPv6 default route)", async () => {
  const l = await d.workingCe("mapectl");
  await noRouteToBr(l);
  await d.assertPathBroken("no route to the BR");
  const finding = await d.faultFixed("br-route", "route added", "mapectl");
  assert.match(finding.summary, /no route to the BR/);
  assert.ok(
    finding.fix.some((c) => c.includes(`via ${NGN.routerLinkLocal} dev ${CE.wan}`)),
    finding.fix.join("\n"),
  );
});

d.scenario("encap-limit: the tunnel's encaplimit 4 against a strict BR", async () => {
  const l = await d.workingCe("mapectl");
  const t = await ceTunnel(l);
  await l.run(NS.ce, ["ip", "-6", "tunnel", "change", t.name, "encaplimit", "4"]);
  await d.assertPathBroken("encaplimit 4");
  await assertCounted(l, ["biglobe_east_dstopt"], "the strict BR dropped them");
  await d.faultFixed("encap-limit", "encaplimit none", "mapectl");
});

d.scenario("ipv4-default-route: the IPv4 default route through the tunnel is gone", async () => {
  const l = await d.workingCe("mapectl");
  await l.run(NS.ce, ["ip", "route", "del", "default", "dev", "mape"]);
  await d.assertPathBroken("no IPv4 default");
  await d.faultFixed("ipv4-default-route", "default route back", "mapectl");
});

d.scenario("tunnel-down: the tunnel taken down (its IPv4 routes go with it)", async () => {
  const l = await d.workingCe("mapectl");
  await l.run(NS.ce, ["ip", "link", "set", "mape", "down"]);
  await d.assertPathBroken("tunnel down");
  await d.faultFixed("tunnel-down", "tunnel up, default route back", "mapectl");
});

// ---------------------------------------------------------------- faults on the hand-written CE

d.scenario("healthy hand-written reference CE: doctor exits 0, no failure", async () => {
  await d.workingCe("reference");
  await d.assertPathWorks("the reference CE");
  await d.assertClean("the reference CE");
  d.healthy("reference");
});

d.scenario(
  "ce-address-mismatch: tunnel and WAN use the RFC 7597 interface ID; the BR serves draft-03",
  async () => {
    const l = await d.workingCe("reference");
    const { interfaceId, right, rfc } = ceAddresses(l.prefix);
    assert.equal(interfaceId, "draft-03");
    assert.notEqual(rfc, right);
    await moveCeAddress(l, right, rfc);
    await d.assertPathBroken("RFC 7597 CE address");
    await assertCounted(l, ["biglobe_east_unknown_ce"], "the BR does not know that CE");
    const finding = await d.faultFixed("ce-address-mismatch", "draft-03 CE address", "reference");
    assert.match(finding.summary, /uses the rfc7597 interface ID, but this BR expects draft-03/);
    assert.equal((await ceTunnel(l)).local, right);
  },
);

d.scenario(
  "ce-address-duplicate: a second CE on the line; the fix works once the other router is gone",
  async () => {
    const l = await d.workingCe("reference");
    await secondCeOnLine(l);
    try {
      // The CE (re)adds its address with DAD, as at boot or a reconnect: ce2 answers, DAD fails.
      await l.run(NS.ce, ["ip", "-6", "addr", "del", `${SEED.ceAddress}/128`, "dev", CE.wan]);
      await l.run(NS.ce, ["ip", "-6", "addr", "add", `${SEED.ceAddress}/128`, "dev", CE.wan]);
      await sleep(2500);
      const addr = await l.run(NS.ce, ["ip", "-6", "addr", "show", "dev", CE.wan, "dadfailed"]);
      assert.match(addr, new RegExp(SEED.ceAddress), "DAD failed on the CE");
      await d.assertPathBroken("duplicate CE address");
      const { finding } = await d.assertFirst("ce-address-duplicate");
      assert.match(finding.fix[0] ?? "", /^# first put the other router .* in bridge\/AP mode/);
      // The printed commands alone cannot win against a router that still holds the address:
      // DAD fails again and doctor still says so. That is the honest answer.
      await d.runFix(finding);
      await sleep(2500);
      assert.equal((await d.assertFirst("ce-address-duplicate")).finding.id, "ce-address-duplicate");
      // The fix's first line is the human step: the other router goes (bridge mode); then the
      // printed commands re-run DAD, which now succeeds.
      await removeSecondCe(l);
      await d.runFix(finding);
    } finally {
      await removeSecondCe(l);
    }
    await d.assertPathWorks("after the other CE left and the fix ran");
    await d.assertClean("after the ce-address-duplicate fix");
    d.healthy("reference");
  },
);

d.scenario("nat-port-coverage: NAT to one 16-port block; 24 connections to one server", async () => {
  const l = await d.referenceWith({ portBlocks: "first" });
  const before = await connectMany(l, 24, INET.hosts[1], INET.manyPort, 3);
  assert.equal(before.ok, 16, "one block: only 16 connections to one server succeed");
  const { finding } = await d.assertFirst("nat-port-coverage");
  assert.match(finding.summary, /covers 16 of the 240 ports/);
  await d.runFix(finding);
  await d.assertPathWorks("after the NAT fix");
  const afterFix = await connectMany(l, 24, INET.hosts[1]);
  assert.equal(afterFix.ok, 24, "all 24 connections succeed after the fix");
  assert.ok(new Set(afterFix.seen.map((s) => s.sport >> 12)).size > 1, "ports from several blocks");
  await d.assertClean("after the nat-port-coverage fix");
});

d.scenario("nat-icmp: NAT into the port set for tcp and udp only", async () => {
  const l = await d.referenceWith({}, "no-icmp");
  const http = await httpFromLan(l);
  assert.ok(http.ok, `TCP still works: ${http.detail}`);
  await d.assertPathBroken("ICMP keeps its echo id");
  await assertCounted(l, ["biglobe_east_bad_icmp_id"], "the BR drops the echo ids");
  await d.faultFixed("nat-icmp", "mapectl's NAPT loaded", null);
});

d.scenario("nat-source-restricted: NAT only for 192.168.1.0/24, the CE's own traffic fails", async () => {
  const l = await d.referenceWith({ natSource: "lan" });
  await d.assertPathWorks("LAN traffic is translated");
  assert.deepEqual(await ownTraffic(l), { ping: false, http: false }, "the CE's own ping and HTTP fail");
  await d.faultFixed("nat-source-restricted", "mapectl's NAPT loaded", null);
  assert.deepEqual(await ownTraffic(l), { ping: true, http: true }, "the CE's own ping and HTTP work");
});

d.scenario("nat-outside-port-set: masquerade keeps the source ports", async () => {
  const l = await d.referenceWith({}, "masquerade");
  await d.assertPathBroken("masquerade");
  await l.clearRecords();
  const finding = await d.faultFixed("nat-outside-port-set", "mapectl's NAPT loaded", null);
  assert.match(finding.summary, /masquerade keeps the source port/);
  const seen = (await l.records()).filter((r) => r.proto === "tcp" || r.proto === "http");
  assert.ok(seen.length > 0, "inet saw the TCP of the path check");
  for (const r of seen)
    assert.ok(
      r.sport !== undefined && portInSet(r.sport, 4, 8, 65),
      `source port ${String(r.sport)} is in PSID 65's set`,
    );
});

d.scenario("mtu-mss: tunnel MTU 1500 and no MSS clamping", async () => {
  const l = await d.referenceWith({ mtu: 1500, mssClamp: false });
  assert.equal(await synMss(l), 1460, "unclamped: the LAN host's MSS 1460 reaches inet");
  const { finding } = await d.assertFirst("mtu-mss");
  assert.match(finding.summary, /MTU is 1500.*no rule clamps the TCP MSS/);
  await d.runFix(finding);
  await d.assertPathWorks("after the mtu-mss fix");
  assert.equal(await synMss(l), 1420, "clamped to the tunnel's 1460 less 40");
  await d.assertClean("after the mtu-mss fix");
});

// ---------------------------------------------------------------- the seed's own configuration

d.scenario(
  "the seed's configuration, typed in with the work log's commands: every problem named",
  async () => {
    const l = await d.fresh();
    await seedConfiguration(l);
    await sleep(1500); // DAD of the CE address
    await d.assertPathBroken("the seed's configuration");
    await assertCounted(l, ["jpne_unknown_ce", "jpne_dstopt"], "JPNE's BR drops the seed's packets");

    const { code, doc } = await d.run(["--vyos"]);
    assert.equal(code, 6);
    // every problem, most likely cause first, each with its summary
    const expected: Record<string, RegExp> = {
      "br-mismatch": new RegExp(`sends to ${JPNE_BR} \\(the BR of v6プラス\\)`),
      "encap-limit": /encaplimit 4/,
      "nat-port-coverage": /covers 16 of the 240 ports/,
      "nat-icmp": /ICMP leaving through mape is not translated/,
      "mtu-mss": /no rule clamps the TCP MSS/,
    };
    const ids = failures(doc).map((f) => f.id);
    assert.deepEqual(ids, Object.keys(expected), brief(doc));
    for (const f of failures(doc)) assert.match(f.summary, expected[f.id] ?? /^$/, f.id);
    const coverage = failures(doc).find((f) => f.id === "nat-port-coverage")?.evidence;
    assert.deepEqual([coverage?.covered, coverage?.total], [16, 240]);

    assertSeedVyosFix(failures(doc).flatMap((f) => f.vyosFix ?? []));
    const text = await l.mapectl(NS.ce, ["doctor", "--vyos"], { timeoutMs: 90_000 });
    assert.equal(text.code, 6);
    assert.match(text.stdout, /5 problems on mape, most likely cause first\n\n✗ \[br-mismatch\]/);
    assert.match(text.stdout, /fix \(configure mode\):\n\s+# mape was made outside VyOS's configuration/);
    assert.match(text.stdout, /\[encap-limit\].*\n\s+fix: the same as for \[br-mismatch\] above/);

    // The shell fixes, first finding first, until doctor is clean: the seed's router works.
    const { ran, ...now } = await d.fixUntilClean({ code, doc });
    assert.deepEqual(ran.slice(0, 1), ["br-mismatch"]);
    assert.ok(ran.length <= 3, `a few fixes suffice: ${ran.join(", ")}`);
    assert.deepEqual(failures(now.doc), [], `clean after ${ran.join(", ")}`);
    assert.equal(now.code, 0);
    await d.assertPathWorks("the seed's router after doctor's fixes");
  },
);

// ---------------------------------------------------------------- the line changes

d.scenario("prefix-changed (hand-made CE): a new /56 while the tunnel keeps the old CE address", async () => {
  const l = await d.workingCe("reference");
  await l.isp.setPrefix(OTHER_BIGLOBE);
  await d.assertPathBroken("old CE address on the new prefix");
  const { finding } = await d.assertFirst("prefix-changed");
  assert.match(
    finding.summary,
    /belongs to the old prefix 2404:7a82:4d02:4100::\/56.*now has 2404:7a82:4d03:4000::\/56 \(IPv4 133\.209\.13\.3, PSID 64\)/,
  );
  assert.ok(!finding.fix.includes("mapectl up"), "no mapectl on a hand-made CE: plain ip and nft lines");
  await d.fixed(finding, "hand-made CE on the new prefix", null);
  const seen = (await l.records()).at(-1);
  assert.equal(seen?.src, "133.209.13.3", "inet sees the new IPv4 address");
});

d.scenario("prefix-changed (mapectl's CE): the fix is `mapectl up`, run as printed", async () => {
  const l = await d.fresh();
  assert.equal(l.prefix, OTHER_BIGLOBE);
  await d.mapectlUp(l);
  await l.isp.setPrefix(DEFAULT_PREFIX);
  await d.assertPathBroken("mapectl's CE on the old prefix");
  const { finding } = await d.assertFirst("prefix-changed");
  assert.deepEqual(
    finding.fix,
    [`mapectl up --wan ${CE.wan} --lan ${CE.lan}`],
    "mapectl made this router: the fix is mapectl up (it re-derives CE address, IPv4, NAT)",
  );
  await d.fixed(finding, "mapectl up", "mapectl");
});

d.scenario(
  "not-mape-line: the line becomes DS-Lite (transix); the fix replaces MAP-E with DS-Lite",
  async () => {
    const l = await d.workingCe("mapectl");
    await l.isp.setPrefix(TRANSIX);
    // the B4 address is the LAN's address from the new prefix: wait until DAD made it usable
    for (let i = 0; i < 20; i++) {
      const tentative = await l.run(NS.ce, ["ip", "-6", "addr", "show", "dev", CE.lan, "tentative"]);
      if (!tentative.includes("2404:8e00:")) break;
      await sleep(500);
    }
    const { finding } = await d.assertFirst("not-mape-line");
    assert.match(finding.summary, /transix.*DS-Lite \(AFTR 2404:8e00::feed:100\), not MAP-E/);
    assert.deepEqual(
      finding.fix[0],
      "mapectl down",
      "mapectl made the MAP-E side: mapectl down takes it away",
    );
    assert.ok(
      finding.fix.some((c) => c.includes(`remote ${TRANSIX_AFTR}`)),
      finding.fix.join("\n"),
    );
    await d.runFix(finding);
    // What the lab can prove without an AFTR: MAP-E is gone, IPv4 from lan enters the DS-Lite tunnel
    // to the AFTR, and doctor has nothing left to fail.
    const links = await l.run(NS.ce, ["ip", "-d", "link", "show", "type", "ip6tnl"]);
    assert.doesNotMatch(links, /\bmape\b/);
    const beforePing = await l.linkStats(NS.ce, "dslite");
    await pingFromLan(l, INET.hosts[0], 2);
    const afterPing = await l.linkStats(NS.ce, "dslite");
    assert.ok(
      afterPing.txPackets - beforePing.txPackets >= 2,
      "IPv4 from lan goes into the tunnel to the AFTR",
    );
    const { code, doc } = await d.run();
    assert.equal(code, 0, brief(doc));
    assert.deepEqual(
      doc.findings.map((f) => [f.id, f.verdict]),
      [["not-mape-line", "warn"]],
    );
  },
);

test("every check id of the issue was the first finding of a scenario above", { skip }, () => {
  assert.deepEqual(
    REQUIRED_IDS.filter((id) => !d.provenFirst.has(id)),
    [],
  );
});
