import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { isRoot, Netns } from "../helpers/netns.ts";
import { OCN_PREFIX } from "../helpers/plans.ts";
import { CLI, runCli } from "../helpers/run-cli.ts";
import { chromiumIn, fabricateState, startCli, USER, type Fabricated, type Running } from "./web-fixture.ts";

// A router namespace with the user's state applied as far as this kernel allows (no ip6tnl here:
// a veth "mapev" carries IPv4 instead, NATed by the real rendered rules into the real port set),
// a client namespace behind lan0 opening TCP connections, mapectl serve in the router, and
// Chromium in the router too so that 127.0.0.1 is serve's.
const RESULTS = fileURLToPath(new URL("../../test-results/", import.meta.url));
const CLIENT_FLOWS = 45;
let router: Netns;
let client: Netns;
let dir: string;
let state: Fabricated;
let serve: Running;
let url: string;
let browser: BrowserContext;
const problems: string[] = [];

function flowsScript(count: number): string {
  // SYN to nowhere: conntrack keeps each flow SYN_SENT for 120 s, so the counts stay put
  return `const net=require("net");for(let i=0;i<${count};i++){const s=net.connect({host:"203.0.113."+(1+i%9),port:443+i%2});s.on("error",()=>{})}setTimeout(()=>process.exit(0),800)`;
}

before(async () => {
  if (!isRoot()) return;
  dir = mkdtempSync(join(tmpdir(), "mapectl-web-"));
  router = new Netns("mapectl-web");
  client = new Netns("mapectl-webc");
  state = fabricateState(dir);
  for (const cmd of [
    "ip link add wan0 type veth peer name ngn0",
    `ip link add lan0 type veth peer name lanpeer netns ${client.name}`,
    "ip link add mapev type veth peer name mapevpeer",
    "ip link set wan0 up",
    "ip link set ngn0 up",
    "ip link set lan0 up",
    "ip link set mapev up",
    "ip link set mapevpeer up",
    "ip -6 addr add fe80::1/64 dev ngn0 nodad",
    "ip -6 route add default via fe80::1 dev wan0",
    // the delegated prefix as a DHCPv6-PD client leaves it, so doctor finds the line's prefix
    "ip -6 route add unreachable 2404:7a82:4d02:4100::/56",
    "ip addr add 192.168.1.1/24 dev lan0",
    `ip addr add ${USER.ipv4}/32 dev mapev`,
    "ip route add default dev mapev",
    "sysctl -qw net.ipv4.ip_forward=1",
  ]) {
    router.ok(cmd.split(" "));
  }
  for (const cmd of [
    "ip link set lanpeer up",
    "ip addr add 192.168.1.10/24 dev lanpeer",
    "ip route add default via 192.168.1.1",
  ]) {
    client.ok(cmd.split(" "));
  }
  router.ok(["nft", "-f", "-"], state.nftScript);
  // the same rules in a table of the test's own, for the stand-in interface
  router.ok(
    ["nft", "-f", "-"],
    state.nftScript.replace(/([io]ifname) "mape"/g, '$1 "mapev"').replace(/ip mapectl\b/g, "ip mapetest"),
  );
  client.ok([process.execPath, "-e", flowsScript(CLIENT_FLOWS)]);
  serve = await startCli(
    router,
    ["serve", "--listen", "127.0.0.1:0"],
    state.env,
    /^mapectl serve: (http:\S+\/) /m,
  );
  url = serve.match[1] ?? "";
  browser = await chromiumIn(router, dir);
  browser.on("page", (page) => {
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  });
  mkdirSync(RESULTS, { recursive: true });
});

after(async () => {
  if (!isRoot()) return;
  await browser.close();
  const code = await serve.stop("SIGTERM");
  assert.equal(code, 0, `serve ended with ${String(code)}: ${serve.stderr()}`);
  router.destroy();
  client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function mapectl(args: string[]) {
  return router.run([process.execPath, CLI, ...args], undefined, state.env);
}

/** Outside ports per block as conntrack itself lists them, parsed here independently of mapectl. */
/**
 * conntrack holds the port the kernel allocated from 16-255; mapectl's fold sends allocated port
 * n·16 + j as the j-th port of the n-th block, spelled out here on its own.
 */
function onWire(port: number): number {
  const block = USER.blocks[Math.floor(port / 16) - 1];
  return port >= 16 && port <= 255 && block !== undefined ? (block[0] ?? 0) + (port % 16) : port;
}

function conntrackPerBlock(): number[] {
  const text = router.ok(["conntrack", "-L", "-n"]);
  const ports = [
    ...text.matchAll(new RegExp(`dst=${USER.ipv4.replace(/\./g, "\\.")} sport=\\d+ dport=(\\d+)`, "g")),
  ].map((m) => onWire(Number(m[1])));
  return USER.blocks.map(([first = 0, last = 0]) => ports.filter((p) => p >= first && p <= last).length);
}

async function field(page: Page, name: string): Promise<string> {
  return (await page.locator(`[data-field="${name}"] dd`).first().textContent()) ?? "";
}

/**
 * Which 16-port cells of the drawn map are covered by a highlighted block, found by asking the
 * browser what is painted at the centre of every cell (4096 of them): the map as a person sees it.
 */
async function highlightedCells(page: Page, map: string): Promise<number[]> {
  await page.locator(map).scrollIntoViewIfNeeded();
  return page.locator(map).evaluate((svg) => {
    const box = svg.getBoundingClientRect();
    const view = (svg as SVGSVGElement).viewBox.baseVal;
    const scale = box.width / view.width;
    const cells: number[] = [];
    for (let row = 0; row < 256; row++) {
      for (let k = 0; k < 16; k++) {
        const x = box.left + (k * 16 + 8 - view.x) * scale;
        const y = box.top + (row + 0.5 - view.y) * scale;
        const hit = document.elementFromPoint(x, y);
        const block = hit?.closest(".block");
        if (block !== null && block !== undefined) cells.push(row * 256 + k * 16);
      }
    }
    return cells;
  });
}

async function blocksOf(
  page: Page,
  map: string,
): Promise<{ first: number; last: number; used: number | null }[]> {
  return page.locator(`${map} .block`).evaluateAll((groups) =>
    groups.map((g) => ({
      first: Number(g.getAttribute("data-first")),
      last: Number(g.getAttribute("data-last")),
      used: g.hasAttribute("data-used") ? Number(g.getAttribute("data-used")) : null,
    })),
  );
}

test(
  "ports --json counts per block what conntrack shows",
  { skip: !isRoot() && "needs root", timeout: 60_000 },
  () => {
    for (let attempt = 0; ; attempt++) {
      const before = conntrackPerBlock();
      const r = mapectl(["ports", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as {
        schemaVersion: number;
        total: number;
        perBlock: { first: number; used: number }[];
        busiestHosts: { address: string; flows: number }[];
        headroom: { free: number };
      };
      const after = conntrackPerBlock();
      if (JSON.stringify(before) !== JSON.stringify(after) && attempt < 3) continue;
      assert.equal(doc.schemaVersion, 1);
      assert.deepEqual(
        doc.perBlock.map((b) => b.first),
        USER.blocks.map(([first]) => first),
      );
      assert.deepEqual(
        doc.perBlock.map((b) => b.used),
        after,
      );
      assert.ok(doc.total >= CLIENT_FLOWS, `${doc.total} flows`);
      assert.equal(doc.busiestHosts[0]?.address, "192.168.1.10");
      assert.ok(doc.headroom.free <= 240 - 15 && doc.headroom.free >= 0, `headroom ${doc.headroom.free}`);
      break;
    }
    const watch = mapectl(["ports", "--watch", "--json", "--count", "2"]);
    assert.equal(watch.code, 0, watch.stderr);
    const lines = watch.stdout.trim().split("\n");
    assert.equal(lines.length, 2, watch.stdout);
    const times = lines.map((l) => Date.parse((JSON.parse(l) as { at: string }).at));
    assert.ok((times[1] ?? 0) - (times[0] ?? 0) >= 1900, "refreshes every 2 s");
    const human = mapectl(["ports"]);
    assert.match(human.stdout, /^mapectl ports: 133\.209\.13\.2 PSID 65, 240 ports in 15 blocks$/m);
    assert.match(human.stdout, /^ {4}5136-5151 +\d+ +[█░]{16}$/m);
  },
);

test(
  "the status page shows the user's parameters, exactly the 15 blocks, their use, tunnel, doctor and events",
  { skip: !isRoot() && "needs root", timeout: 120_000 },
  async () => {
    const page = await browser.newPage();
    const response = await page.goto(url);
    assert.equal(response?.status(), 200);
    await page.waitForSelector("body[data-loaded] #port-map .block");
    assert.equal(await field(page, "prefix"), USER.prefix);
    assert.equal(await field(page, "ipv4Address"), USER.ipv4);
    assert.equal(await field(page, "psid"), `${USER.psid} (0x41)`);
    assert.equal(await field(page, "ceAddress"), `${USER.ce} (draft-03 interface ID)`);
    assert.equal(await field(page, "br"), USER.br);
    assert.match(await field(page, "service"), /BIGLOBE IPv6オプション/);
    assert.equal(await page.locator("#headline-ipv4").textContent(), USER.ipv4);

    const blocks = await blocksOf(page, "#port-map svg");
    assert.deepEqual(
      blocks.map((b) => [b.first, b.last]),
      USER.blocks,
    );
    // what is painted: exactly the cells of those blocks, nothing else of the 65536 ports
    const cells = await highlightedCells(page, "#port-map svg");
    assert.deepEqual(
      cells,
      USER.blocks.map(([first]) => first),
    );

    // the busy blocks are the ones conntrack shows (the page refreshes every 2 s)
    let shown: (number | null)[] = [];
    let expected: number[] = [];
    for (let i = 0; i < 10; i++) {
      expected = conntrackPerBlock();
      shown = (await blocksOf(page, "#port-map svg")).map((b) => b.used);
      if (JSON.stringify(shown) === JSON.stringify(expected)) break;
      await page.waitForTimeout(1_000);
    }
    assert.deepEqual(shown, expected);
    assert.ok(expected.reduce((a, b) => a + b, 0) >= CLIENT_FLOWS);
    const fills = await page
      .locator("#port-map .block")
      .evaluateAll((groups) =>
        groups.map((g) => [Number(g.getAttribute("data-used")), g.getAttribute("fill")] as const),
      );
    for (const [used, fill] of fills) {
      if (used > 0) assert.notEqual(fill, "#1f9e89", "a block with flows is drawn busy");
      else assert.equal(fill, "#1f9e89", "an idle block is drawn idle");
    }
    assert.match((await page.locator("#nat").textContent()) ?? "", /192\.168\.1\.10/);

    const tunnel = (await page.locator("#tunnel").textContent()) ?? "";
    assert.match(tunnel, /mape/);
    assert.match(tunnel, /missing/, "no ip6tnl in this kernel, and the page says so");
    assert.match(tunnel, /create the ip4ip6 tunnel mape/);
    await page.waitForSelector('#doctor [data-check="tunnel-missing"].fail');
    const events = await page.locator("#events li").allTextContents();
    assert.equal(events.length, 2);
    assert.match(events[0] ?? "", /warning.*NAT ports 80% used/);
    assert.match(events[1] ?? "", /info.*applied: 133\.209\.13\.2/);
    assert.match((await page.locator("#live").textContent()) ?? "", /^live · updated/);

    await page.screenshot({ path: join(RESULTS, "web-status.png"), fullPage: true });
    assert.deepEqual(problems, [], "no console errors, no CSP violations");
    await page.close();
  },
);

/** OCN's 63 blocks in the calculator, and the same object as calc --json. */
async function checkOcnInCalculator(page: Page): Promise<void> {
  await page.fill("#prefix", OCN_PREFIX);
  await page.press("#prefix", "Enter");
  await page.waitForFunction(
    (prefix) => document.querySelector('[data-field="prefix"] dd')?.textContent === prefix,
    OCN_PREFIX,
  );
  const ocn = await blocksOf(page, "#result svg");
  assert.equal(ocn.length, 63);
  assert.deepEqual(ocn[0], { first: 1376, last: 1391, used: null });
  assert.deepEqual(ocn[62], { first: 64864, last: 64879, used: null });
  assert.equal((await highlightedCells(page, "#result svg")).length, 63);
  assert.equal(await field(page, "ipv4Address"), "153.240.72.209");
  assert.equal(await field(page, "psid"), "22 (0x16)");
  assert.equal(
    await field(page, "ceAddress"),
    "2400:4050:1234:5600:99:f048:d100:1600 (draft-03 interface ID)",
  );
  assert.equal(await field(page, "br"), "2001:380:a120::9");
  assert.equal(await field(page, "ports"), "1008 in 63 blocks of 16");
  assert.match(await field(page, "service"), /OCN バーチャルコネクト \(shipped rule table\)/);
  // the same object as calc --json
  const json = JSON.parse((await page.locator("details.json pre").textContent()) ?? "") as unknown;
  const cli = runCli(["calc", OCN_PREFIX, "--json"]);
  assert.deepEqual(json, JSON.parse(cli.stdout));
  await page.screenshot({ path: join(RESULTS, "web-calc.png"), fullPage: true });
}

test(
  "the calculator answers in the browser, offline: the user's prefix, OCN, a manual rule and an error",
  { skip: !isRoot() && "needs root", timeout: 120_000 },
  async () => {
    const page = await browser.newPage();
    await page.goto(`${url}calc`);
    // from here on nothing may come from the network
    await browser.setOffline(true);
    try {
      await page.fill("#prefix", USER.prefix);
      await page.press("#prefix", "Enter");
      await page.waitForSelector("#result:not([hidden]) .port-map");
      assert.equal(await field(page, "ipv4Address"), USER.ipv4);
      assert.equal(await field(page, "psid"), "65 (0x41)");
      assert.equal(await field(page, "ceAddress"), `${USER.ce} (draft-03 interface ID)`);
      assert.equal(await field(page, "br"), USER.br);
      assert.equal(await field(page, "ports"), "240 in 15 blocks of 16");
      assert.deepEqual(
        (await blocksOf(page, "#result svg")).map((b) => [b.first, b.last]),
        USER.blocks,
      );
      assert.deepEqual(
        await highlightedCells(page, "#result svg"),
        USER.blocks.map(([first]) => first),
      );

      await checkOcnInCalculator(page);

      // a manual rule, with a BR of its own
      await page.fill("#prefix", USER.prefix);
      await page.click("#manual-rule summary");
      await page.check("#use-manual");
      await page.fill("#rule-ipv6-prefix", "2404:7a82:4c00::/38");
      await page.fill("#rule-ipv4-prefix", "133.209.12.0/22");
      await page.fill("#rule-ea-bits", "18");
      await page.fill("#rule-psid-offset", "4");
      await page.fill("#rule-br", "2001:db8::1");
      await page.press("#rule-br", "Enter");
      await page.waitForFunction(() =>
        document.querySelector('[data-field="br"] dd')?.textContent.includes("2001:db8::1"),
      );
      assert.match(await field(page, "service"), /\(manual rule\)/);
      assert.equal(await field(page, "ipv4Address"), USER.ipv4);
      assert.equal(await field(page, "psid"), "65 (0x41)");

      // an error reads as the CLI's
      await page.uncheck("#use-manual");
      await page.fill("#prefix", "2404:7a82:4d02:4100::/40");
      await page.press("#prefix", "Enter");
      await page.waitForSelector("#calc-error:not([hidden])");
      const error = (await page.locator("#calc-error").textContent()) ?? "";
      const cliError = runCli(["calc", "2404:7a82:4d02:4100::/40"]).stderr.trim();
      assert.equal(`mapectl: ${error}`, cliError);
      assert.ok(await page.locator("#result").isHidden());
    } finally {
      await browser.setOffline(false);
    }
    assert.deepEqual(problems, [], "no console errors, no CSP violations");
    await page.close();
  },
);

test("a screenshot of each page is kept under test-results/", { skip: !isRoot() && "needs root" }, () => {
  for (const name of ["web-status.png", "web-calc.png"]) {
    // written by the tests above; a few kilobytes would mean a blank page
    assert.ok(statSync(join(RESULTS, name)).size > 20_000, name);
  }
});
