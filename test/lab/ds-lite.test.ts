import assert from "node:assert/strict";
import { test } from "node:test";
import { AFTR_SECOND_ADDRESS, NGN, NS } from "../../lab/addresses.ts";
import { AFTR, aftrCounters, labDsLiteAnswer, loadAftr } from "../../lab/aftr.ts";
import { resetCe } from "../../lab/ce-reset.ts";
import { ceTunnel } from "../../lab/faults.ts";
import { runScenario } from "../../lab/scenarios/index.ts";
import { dsLite, dsLiteUp } from "../../lab/scenarios/ds-lite.ts";
import { pingFromLan } from "../../lab/scenarios/probes.ts";
import { startWatch } from "../../lab/traffic.ts";
import { waitFor } from "../../lab/wait.ts";
import { useLab } from "../helpers/lab.ts";
import { hb46ppAnswer, TTL } from "../helpers/watch-lab.ts";

// DS-Lite (RFC 6333) on a real kernel, one boot for the file: the B4 that `up` builds carries IPv4
// from the LAN and the router through the lab's AFTR, and the daemon follows a line whose HB46PP
// answer changes from MAP-E to DS-Lite and back with no command typed.
const { skip, lab: booted } = useLab({ needsBundle: true });

test(
  "mapectl lab run ds-lite: up to the AFTR by its name, traffic from LAN and router, status, down",
  { skip },
  async () => {
    const report = await runScenario(booted(), dsLite);
    const failed = report.checks.filter((c) => !c.passed);
    assert.deepEqual(failed, [], JSON.stringify(report.checks, null, 2));
    assert.equal(report.method, "ds-lite");
  },
);

interface DoctorDoc {
  method: string;
  ok: boolean;
  tunnel: string | null;
  findings: { id: string; verdict: string; summary: string; fix: string[] }[];
}

/** `mapectl doctor --json` on the CE, asking the line's DNS (as up did); its exit code and document. */
async function doctor(extra: readonly string[] = []): Promise<{ code: number; doc: DoctorDoc }> {
  const r = await booted().mapectl(NS.ce, ["doctor", "--json", "--resolver", NGN.dns, ...extra], {
    timeoutMs: 60_000,
  });
  assert.ok(r.code === 0 || r.code === 6, `doctor exit ${r.code}: ${r.stderr}`);
  return { code: r.code, doc: JSON.parse(r.stdout) as DoctorDoc };
}

function notOk(doc: DoctorDoc): string[] {
  return doc.findings.filter((f) => f.verdict !== "ok").map((f) => `${f.id} ${f.verdict}: ${f.summary}`);
}

test(
  "doctor on the DS-Lite router: clean after up; a missing B4 address or an AFTR name that does not resolve is its first finding",
  { skip },
  async () => {
    const l = booted();
    await resetCe(l.guest);
    await l.isp.setProvisioning(labDsLiteAnswer());
    await loadAftr(l, [{ prefix: l.prefix, b4: null }]);
    try {
      const { doc: up, why } = await dsLiteUp(l);
      assert.ok(up !== null, why);
      await loadAftr(l, [{ prefix: l.prefix, b4: up.plan.tunnel.local }]);
      assert.ok((await pingFromLan(l)).ok, "IPv4 through the AFTR");

      const healthy = await doctor();
      assert.equal(healthy.doc.method, "ds-lite");
      assert.equal(healthy.doc.tunnel, up.plan.tunnel.name);
      assert.deepEqual(notOk(healthy.doc), [], JSON.stringify(healthy.doc.findings, null, 2));
      assert.equal(healthy.code, 0);
      assert.ok(healthy.doc.ok);
      assert.ok(
        healthy.doc.findings.some((f) => f.id === "dslite.aftr-name-unresolved" && f.verdict === "ok"),
        "the AFTR's name was asked of the line's DNS",
      );
      // no port set on a DS-Lite router: ports says so, with the method
      const ports = await l.mapectl(NS.ce, ["ports", "--json"], { timeoutMs: 60_000 });
      assert.equal(ports.code, 0, ports.stderr);
      const portsDoc = JSON.parse(ports.stdout) as { method: string; portSet: unknown; nat: string };
      assert.deepEqual([portsDoc.method, portsDoc.portSet, portsDoc.nat], ["ds-lite", null, "aftr"]);

      // the B4 address goes: the router's own IPv4 has no source
      await l.run(NS.ce, ["ip", "-4", "addr", "del", "192.0.0.2/29", "dev", up.plan.tunnel.name]);
      const broken = await doctor();
      assert.equal(broken.code, 6);
      assert.equal(broken.doc.method, "ds-lite");
      const [first] = broken.doc.findings;
      assert.equal(first?.id, "dslite.b4-address-missing", JSON.stringify(broken.doc.findings, null, 2));
      assert.equal(first.verdict, "fail");
      // the fix, run as printed, repairs it
      for (const command of first.fix) await l.run(NS.ce, ["sh", "-c", command]);
      assert.deepEqual(notOk((await doctor()).doc), [], "clean after the printed fix");

      // the line's DNS does not know the AFTR's name
      const unresolved = await doctor(["--aftr", "gone.ngn.test"]);
      assert.equal(unresolved.code, 6);
      assert.equal(unresolved.doc.findings[0]?.id, "dslite.aftr-name-unresolved");
      assert.match(unresolved.doc.findings[0].summary, /gone\.ngn\.test/);

      // the softwire deleted: up makes it again, and doctor is clean
      await l.run(NS.ce, ["ip", "link", "del", "dev", up.plan.tunnel.name]);
      assert.equal((await doctor()).doc.findings[0]?.id, "dslite.tunnel-missing");
      const again = await dsLiteUp(l);
      assert.ok(again.doc !== null, again.why);
      assert.deepEqual(notOk((await doctor()).doc), [], "clean after up again");
      assert.ok((await pingFromLan(l)).ok, "IPv4 through the AFTR again");
    } finally {
      await l.mapectl(NS.ce, ["down"], { timeoutMs: 60_000 });
      await l.isp.setProvisioning(null);
    }
  },
);

interface Status {
  method: string | null;
  inSync: boolean;
  plan: { tunnel: { name: string; local: string } } | null;
}

async function status(): Promise<Status> {
  const r = await booted().mapectl(NS.ce, ["status", "--json"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

/** Waits until the applied plan is `method` and in sync; returns its status. */
async function applied(method: string, log: () => Promise<string[]>): Promise<Status> {
  try {
    return await waitFor(`the daemon to apply ${method}`, 90_000, async () => {
      const s = await status();
      return s.method === method && s.inSync ? s : null;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; daemon:\n${(await log()).slice(-15).join("\n")}`, {
      cause: err,
    });
  }
}

test(
  "the daemon follows a line whose HB46PP answer changes from MAP-E to DS-Lite and back",
  { skip },
  async () => {
    const l = booted();
    await resetCe(l.guest);
    await l.isp.setProvisioning(hb46ppAnswer(l.prefix));
    await loadAftr(l, [{ prefix: l.prefix, b4: null }]);
    const watch = await startWatch(l, ["--method", "auto", "--source", "hb46pp", "--resolver", NGN.dns]);
    try {
      await applied("map-e", () => watch.log());
      assert.ok((await pingFromLan(l)).ok, "IPv4 through MAP-E first");
      // the network changes its answer; nobody touches the router
      await l.isp.setProvisioning({ ...labDsLiteAnswer(), ttl: TTL });
      const ds = await applied("ds-lite", () => watch.log());
      assert.ok((await watch.log()).some((line) => /method changed: MAP-E → DS-Lite/.test(line)));
      const links = await l.run(NS.ce, ["ip", "-br", "link", "show"]);
      assert.doesNotMatch(links, /^mape\b/m, "the MAP-E tunnel is gone");
      assert.doesNotMatch(
        await l.run(NS.ce, ["ip", "-6", "route", "show", "proto", "77"]),
        /\S/,
        "no BR route left",
      );
      // the ISP registers the line's B4 (its softwire source) with the AFTR
      await loadAftr(l, [{ prefix: l.prefix, b4: ds.plan?.tunnel.local ?? "" }]);
      const ping = await pingFromLan(l);
      assert.ok(ping.ok, `IPv4 through the AFTR after the switch: ${ping.detail}`);
      assert.ok(((await aftrCounters(l)).aftr_nat ?? 0) > 0, "the AFTR translated the LAN's ping");
      await l.isp.setProvisioning(hb46ppAnswer(l.prefix));
      await applied("map-e", () => watch.log());
      assert.doesNotMatch(
        await l.run(NS.ce, ["ip", "-br", "link", "show"]),
        /^dslite\b/m,
        "the softwire is gone",
      );
      assert.doesNotMatch(
        await l.run(NS.ce, ["ip", "-6", "addr", "show"]),
        /::b4\//,
        "the B4 source is gone",
      );
      assert.ok((await pingFromLan(l)).ok, "IPv4 through MAP-E again");
    } finally {
      await watch.stop();
      await l.mapectl(NS.ce, ["down"], { timeoutMs: 60_000 });
      await l.isp.setProvisioning(null);
    }
  },
);

test(
  "the daemon follows the AFTR to a new address when its name resolves differently",
  { skip },
  async (t) => {
    const l = booted();
    await resetCe(l.guest);
    await l.isp.setProvisioning(labDsLiteAnswer());
    await loadAftr(l, [{ prefix: l.prefix, b4: null }]);
    // nothing on the router changes when an AFTR is renumbered: only the periodic check notices
    const watch = await startWatch(l, ["--method", "ds-lite", "--resolver", NGN.dns, "--periodic", "3"]);
    try {
      const ds = await applied("ds-lite", () => watch.log());
      const b4 = ds.plan?.tunnel.local ?? "";
      await loadAftr(l, [{ prefix: l.prefix, b4 }]);
      assert.equal((await ceTunnel(l)).remote, AFTR.address);
      assert.ok((await pingFromLan(l)).ok, "IPv4 through the AFTR at its first address");
      // the AFTR moves: until the router follows, its softwire ends where no softwire is
      await loadAftr(l, [{ prefix: l.prefix, b4 }], AFTR_SECOND_ADDRESS);
      assert.equal((await pingFromLan(l, undefined, 2)).ok, false, "no IPv4 to the AFTR's old address");
      const moved = Date.now();
      await l.isp.setAftrAddress(AFTR_SECOND_ADDRESS);
      await waitFor("the softwire to end at the AFTR's new address", 60_000, async () =>
        (await ceTunnel(l)).remote === AFTR_SECOND_ADDRESS ? true : null,
      );
      const followedMs = Date.now() - moved;
      // the daemon logs the round once it has settled, a little after the tunnel changed
      const moveLine = `AFTR moved: ${AFTR.address} → ${AFTR_SECOND_ADDRESS}`;
      const line = await waitFor("the daemon to log the move", 60_000, async () => {
        const lines = await watch.log();
        return lines.find((x) => x.includes(moveLine)) ?? null;
      }).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}:\n${(await watch.log()).slice(-10).join("\n")}`, {
          cause: err,
        });
      });
      assert.match(line, new RegExp(`via AFTR ${AFTR.name.replace(/\./g, "\\.")} ${AFTR_SECOND_ADDRESS}`));
      const ping = await pingFromLan(l);
      assert.ok(ping.ok, `IPv4 through the AFTR at its new address: ${ping.detail}`);
      // its counters started again when it moved: this is the new softwire's traffic
      assert.ok(((await aftrCounters(l)).aftr_nat ?? 0) > 0, "the AFTR translated the LAN's ping");
      assert.ok((await status()).inSync, "the applied plan is the running one");
      t.diagnostic(`AFTR renumbered: the daemon followed in ${followedMs} ms (periodic check every 3 s)`);
    } finally {
      await watch.stop();
      await l.mapectl(NS.ce, ["down"], { timeoutMs: 60_000 });
      await l.isp.setAftrAddress(AFTR.address);
      await loadAftr(l, [{ prefix: l.prefix, b4: null }]);
      await l.isp.setProvisioning(null);
    }
  },
);

test("the AFTR drops a softwire from a line it does not serve, and counts it", { skip }, async () => {
  const l = booted();
  await loadAftr(l, [{ prefix: "2001:db8:dead::/56", b4: null }]);
  await resetCe(l.guest);
  await l.isp.setProvisioning(labDsLiteAnswer());
  try {
    const up = await l.mapectl(
      NS.ce,
      // the default sources: HB46PP, DHCPv6, then the tables (which know no AFTR for this prefix)
      ["up", "--wan", "wan0", "--lan", "lan0", "--method", "ds-lite", "--resolver", NGN.dns, "--json"],
      { timeoutMs: 120_000 },
    );
    assert.equal(up.code, 0, up.stderr);
    const ping = await pingFromLan(l, undefined, 2);
    assert.equal(ping.ok, false, "no IPv4 for an unregistered B4");
    assert.ok(((await aftrCounters(l)).aftr_unknown_b4 ?? 0) >= 2, JSON.stringify(await aftrCounters(l)));
    assert.equal(
      AFTR.address,
      (JSON.parse(up.stdout) as { plan: { tunnel: { remote: string } } }).plan.tunnel.remote,
    );
  } finally {
    await l.mapectl(NS.ce, ["down"], { timeoutMs: 60_000 });
    await l.isp.setProvisioning(null);
  }
});
