import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { renderNftables } from "../../../src/render/nftables.ts";
import { renderShell } from "../../../src/render/shell.ts";
import { renderNetworkd } from "../../../src/render/systemd.ts";
import { renderVyos, VYOS_NFT_PATH } from "../../../src/render/vyos.ts";
import { isRoot, Netns } from "../../helpers/netns.ts";
import { CASES, casePlan } from "./cases.ts";

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

test("nft -c accepts the table with a TIME_WAIT of the user's", { skip }, () => {
  check(renderNftables(casePlan(CASES.user, { tcpTimeWait: 5 })), "nftables with tcp-time-wait");
});

test("nft -c is not a rubber stamp: a broken table is refused", { skip }, () => {
  const r = ns.run(
    ["nft", "-c", "-f", "-"],
    renderNftables(casePlan(CASES.user)).replace("tcp sport map @fold-port", "tcp sport map @no-such-map"),
  );
  assert.notEqual(r.code, 0);
});
