import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { kernelHasFlowtables } from "../../../src/host/observe.ts";
import { FAST_PATH_FLOWTABLE, renderNftables } from "../../../src/render/nftables.ts";
import { renderShell } from "../../../src/render/shell.ts";
import { renderNetworkd } from "../../../src/render/systemd.ts";
import { renderVyos, VYOS_NFT_PATH } from "../../../src/render/vyos.ts";
import { isRoot, Netns } from "../../helpers/netns.ts";
import {
  renderIpipNetworkd,
  renderIpipNftables,
  renderIpipShell,
  renderIpipVyos,
} from "../../../src/render/ipip.ts";
import { renderDsLiteNetworkd, renderDsLiteNftables, renderDsLiteShell } from "../../../src/render/dslite.ts";
import { CASES, casePlan, DS_LITE_CASES, IPIP_CASES } from "./cases.ts";

// nft -c needs CAP_NET_ADMIN; a namespace of the test's own keeps the check away from this host's ruleset.
const skip =
  (!isRoot() && "needs root for a network namespace") ||
  (!existsSync("/usr/sbin/nft") && "nft is not installed");
let ns: Netns;

before(() => {
  if (skip === false) ns = new Netns("mapectl-render");
});
after(() => {
  if (skip === false) ns.destroy();
});

// nft -c asks the kernel, and a kernel without flowtables refuses any table with one: there the
// fast path's two parts are left out of the check (the lab's Debian kernel loads the whole table,
// test/lab/up.test.ts), and the rest is checked as before.
const flowtables = kernelHasFlowtables();
function forThisKernel(text: string): string {
  if (flowtables) return text;
  const flowtable = new RegExp(`\\tflowtable ${FAST_PATH_FLOWTABLE} \\{\\n(\\t\\t.*\\n)*\\t\\}\\n`);
  const rule = new RegExp(`^.*flow add @${FAST_PATH_FLOWTABLE}\\n`, "m");
  assert.match(text, flowtable, "the table has the fast path's flowtable");
  assert.match(text, rule, "the table adds flows to the fast path");
  return text.replace(flowtable, "").replace(rule, "");
}

function check(text: string, what: string): void {
  const r = ns.run(["nft", "-c", "-f", "-"], text);
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

function heredoc(script: string): string {
  const m = /cat <<'MAPECTL_NFT'\n([\s\S]*?)\nMAPECTL_NFT\n/.exec(script);
  assert.ok(m !== null, "the shell script embeds the nft table");
  return `${m[1] ?? ""}\n`;
}

for (const [name, prefix] of Object.entries(CASES)) {
  test(`${name}: nft -c accepts the table of every target`, { skip }, () => {
    const plan = casePlan(prefix, {
      forwards:
        name === "user" ? [{ protocol: "tcp", port: 5140, toAddress: "192.168.1.10", toPort: 22 }] : [],
    });
    check(renderNftables(plan), "nftables");
    const shellTable = heredoc(renderShell(plan));
    assert.equal(shellTable, renderNftables(plan));
    check(shellTable, "shell");
    check(renderVyos(plan).files.find((f) => f.path === VYOS_NFT_PATH)?.content ?? "", "vyos");
    check(renderNetworkd(plan).find((f) => f.path.endsWith(".nft"))?.content ?? "", "systemd-networkd");
  });
}

for (const [name, plan] of Object.entries(DS_LITE_CASES)) {
  test(
    `${name}: nft -c accepts DS-Lite's MSS and filter table of every target that has one`,
    { skip },
    () => {
      const table = renderDsLiteNftables(plan());
      check(table, "nftables");
      assert.equal(heredoc(renderDsLiteShell(plan())), table);
      check(
        renderDsLiteNetworkd(plan()).find((f) => f.path.endsWith(".nft"))?.content ?? "",
        "systemd-networkd",
      );
    },
  );
}

for (const [name, plan] of Object.entries(IPIP_CASES)) {
  test(
    `${name}: nft -c accepts IPIP's masquerade, forwards and filter table of every target`,
    { skip },
    () => {
      const table = renderIpipNftables(plan());
      check(table, "nftables");
      assert.equal(heredoc(renderIpipShell(plan())), table);
      check(
        renderIpipNetworkd(plan()).find((f) => f.path.endsWith(".nft"))?.content ?? "",
        "systemd-networkd",
      );
      check(renderIpipVyos(plan()).files.find((f) => f.path === VYOS_NFT_PATH)?.content ?? "", "vyos");
    },
  );
}

test("nft -c accepts the table with a TIME_WAIT of the user's", { skip }, () => {
  check(renderNftables(casePlan(CASES.user, { tcpTimeWait: 5 })), "nftables with tcp-time-wait");
});

test("nft -c accepts the table with the fast path (a flowtable on the LAN and the tunnel)", { skip }, () => {
  const table = renderNftables({ ...casePlan(CASES.user, { tcpTimeWait: 5 }), fastPath: true });
  check(forThisKernel(table), "nftables with the fast path");
});

test("nft -c is not a rubber stamp: a broken table is refused", { skip }, () => {
  const r = ns.run(
    ["nft", "-c", "-f", "-"],
    renderNftables(casePlan(CASES.user)).replace("numgen inc", "numgen sideways"),
  );
  assert.notEqual(r.code, 0);
});
