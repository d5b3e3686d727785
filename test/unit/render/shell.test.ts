import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import type { MapePlan } from "../../../src/plan/plan.ts";
import {
  forwarding,
  freshSetupCommands,
  ipv4Address,
  ipv4Default,
  linkSet,
  tunnelAdd,
  tunnelChange,
} from "../../../src/render/iproute2.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { renderShell, shellCommand, shellQuote } from "../../../src/render/shell.ts";
import { renderDsLiteNftables, renderDsLiteShell } from "../../../src/render/dslite.ts";
import { renderIpipNftables, renderIpipShell } from "../../../src/render/ipip.ts";
import { brRoute, ceAddressAdd } from "../../../src/plan/iproute2.ts";
import {
  CASES,
  casePlan,
  dsLiteAwayPlan,
  dsLiteCasePlan,
  dsLitePdOnlyPlan,
  ipipBlockPlan,
  ipipCasePlan,
} from "./cases.ts";

test("shellQuote gives sh back exactly the word, whatever it holds", () => {
  const word = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0"));
  const special = fc.constantFrom(
    "",
    "'",
    "''",
    "a b",
    "$HOME",
    "`id`",
    "\\",
    '"',
    "\n",
    "*",
    "-n",
    "!x",
    "~",
  );
  fc.assert(
    fc.property(fc.oneof(word, special), (w) => {
      const r = spawnSync("sh", ["-c", `printf '%s' ${shellQuote(w)}`], { encoding: "utf8" });
      return r.status === 0 && r.stdout === w;
    }),
    { numRuns: 150 },
  );
  assert.equal(
    shellQuote("2404:7a82:4d02:4100:85:d10d:200:4100/128"),
    "2404:7a82:4d02:4100:85:d10d:200:4100/128",
  );
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

for (const [name, prefix] of Object.entries(CASES)) {
  test(`${name}: sh accepts the script's syntax`, () => {
    const script = renderShell(casePlan(prefix));
    const syntax = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(syntax.status, 0, syntax.stderr);
  });
}

// Stand-ins for ip, nft, sysctl and id that log every argv (and nft's input) and answer `show`
// as a host with or without MAP-E would.
const STUB = `#!/bin/sh
name=$(basename "$0")
{ printf '%s' "$name"; for a in "$@"; do printf '\\037%s' "$a"; done; printf '\\036'; } >>"$STUB_LOG"
case "$name" in
id) echo 0; exit 0 ;;
nft) cat >>"$STUB_LOG.nft"; exit 0 ;;
ip)
	case " $* " in
	*" link show dev $STUB_WAN "*) exit 0 ;;
	*" show "*) if [ "$STUB_STATE" = present ]; then echo present; exit 0; fi
		case "$1" in link) exit 1 ;; esac; exit 0 ;;
	esac ;;
esac
exit 0
`;

function runWithStubs(plan: MapePlan, state: "absent" | "present") {
  return runScriptWithStubs(renderShell(plan), plan.wan, state);
}

/** Runs a rendered script with the stubs; every argv it ran, and what nft read. */
function runScriptWithStubs(text: string, wan: string, state: "absent" | "present") {
  const dir = mkdtempSync(join(tmpdir(), "mapectl-shell-"));
  try {
    for (const tool of ["ip", "nft", "sysctl", "id"]) {
      writeFileSync(join(dir, tool), STUB);
      chmodSync(join(dir, tool), 0o755);
    }
    const script = join(dir, "up.sh");
    writeFileSync(script, text);
    const log = join(dir, "log");
    writeFileSync(log, "");
    writeFileSync(`${log}.nft`, "");
    const r = spawnSync("sh", [script], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, STUB_LOG: log, STUB_STATE: state, STUB_WAN: wan },
    });
    const calls = readFileSync(log, "utf8")
      .split("\x1e")
      .filter((c) => c !== "")
      .map((c) => c.split("\x1f"));
    return { code: r.status, stderr: r.stderr, calls, nftInput: readFileSync(`${log}.nft`, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function changes(calls: string[][]): string[][] {
  return calls.filter((c) => c[0] !== "id" && !c.includes("show") && !(c[0] === "nft" && c.includes("-c")));
}

test("on a fresh host the script runs exactly freshSetupCommands, checks the nft table first and loads it last", () => {
  const plan = casePlan(CASES.user, {
    forwards: [{ protocol: "tcp", port: 5140, toAddress: "192.168.1.10", toPort: 22 }],
  });
  const r = runWithStubs(plan, "absent");
  assert.equal(r.code, 0, r.stderr);
  const firstChange = r.calls.findIndex((c) => c[0] === "sysctl");
  const check = r.calls.findIndex((c) => c.join(" ") === "nft -c -f -");
  assert.ok(check >= 0 && check < firstChange, "nft -c runs before any change");
  assert.deepEqual(changes(r.calls), [...freshSetupCommands(plan), ["nft", "-f", "-"]]);
  const nft = renderNftables(plan);
  assert.equal(r.nftInput, nft + nft, "nft gets the renderer's table, for the check and for the load");
});

test("run again on a host that has it all, the script adds nothing and updates the tunnel in place", () => {
  const plan = casePlan(CASES.ocn);
  const r = runWithStubs(plan, "present");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls), [
    ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
    [
      "ip",
      "-6",
      "route",
      "replace",
      `${plan.br}/128`,
      "via",
      plan.gateway,
      "dev",
      "eth1",
      "proto",
      "77",
      "metric",
      "1",
    ],
    [...tunnelChange(plan)],
    [...linkSet(plan.tunnel.name, ["mtu", "1460"])],
    [...linkSet(plan.tunnel.name, ["up"])],
    ["nft", "-f", "-"],
  ]);
});

test("a script rendered without the gateway stops before changing anything until the placeholder is replaced", () => {
  const plan = casePlan(CASES.user, { gateway: null });
  const r = runWithStubs(plan, "absent");
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /replace fe80::GATEWAY with the WAN's IPv6 default router first \(ip -6 route show default dev eth1\)/,
  );
  assert.deepEqual(changes(r.calls), []);
  const fixed = renderShell(plan).replaceAll("fe80::GATEWAY", "fe80::1234");
  assert.doesNotMatch(fixed, /fe80::GATEWAY/);
  assert.match(fixed, /case fe80::1234 in \*GATEWAY\*\)/);
});

test("a missing WAN interface stops the script with status 5 and nothing changed", () => {
  const plan = casePlan(CASES.user, { wan: "eth9" });
  const dir = mkdtempSync(join(tmpdir(), "mapectl-shell-"));
  try {
    writeFileSync(join(dir, "id"), "#!/bin/sh\necho 0\n");
    writeFileSync(join(dir, "ip"), "#!/bin/sh\nexit 1\n");
    for (const tool of ["nft", "sysctl"])
      writeFileSync(join(dir, tool), "#!/bin/sh\necho CHANGED >&2\nexit 0\n");
    for (const tool of ["id", "ip", "nft", "sysctl"]) chmodSync(join(dir, tool), 0o755);
    const run = spawnSync("sh", ["-c", renderShell(plan), "up.sh"], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin` },
    });
    assert.equal(run.status, 5);
    assert.equal(run.stderr.trim(), "up.sh: the WAN interface eth9 does not exist");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every command in the script is quoted from its argv", () => {
  const plan = casePlan(CASES.user);
  const script = renderShell(plan);
  for (const argv of freshSetupCommands(plan)) assert.ok(script.includes(shellCommand(argv)), argv.join(" "));
});

test("DS-Lite: on a fresh host the script builds the tunnel to the AFTR, the B4 address and the route, and no NAT", () => {
  const plan = dsLiteCasePlan();
  const script = renderDsLiteShell(plan);
  assert.equal(spawnSync("sh", ["-n"], { input: script, encoding: "utf8" }).status, 0);
  const r = runScriptWithStubs(script, plan.wan, "absent");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls), [
    [...forwarding(true)],
    [...tunnelAdd(plan)],
    [...linkSet("dslite", ["up"])],
    [...ipv4Address("add", "192.0.0.2", 29, "dslite")],
    [...ipv4Default("add", "dslite", 10)],
    ["nft", "-f", "-"],
  ]);
  const nft = renderDsLiteNftables(plan);
  assert.equal(r.nftInput, nft + nft);
  assert.doesNotMatch(nft, /snat|dnat|masquerade/);
  const again = runScriptWithStubs(script, plan.wan, "present");
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(changes(again.calls).slice(1, 3), [
    [...tunnelChange(plan)],
    [...linkSet("dslite", ["mtu", "1460"])],
  ]);
});

test("DS-Lite on a line that only delegates a prefix: the script adds the B4 source /128 before the tunnel that leaves from it", () => {
  const plan = dsLitePdOnlyPlan();
  const script = renderDsLiteShell(plan);
  assert.equal(spawnSync("sh", ["-n"], { input: script, encoding: "utf8" }).status, 0);
  const r = runScriptWithStubs(script, plan.wan, "absent");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls).slice(0, 3), [
    [...forwarding(true)],
    ["ip", "-6", "addr", "add", "2404:8e00:12:34ff::b4/128", "dev", "eth1", "nodad"],
    [...tunnelAdd(plan)],
  ]);
  assert.match(tunnelAdd(plan).join(" "), / local 2404:8e00:12:34ff::b4 /);
  assert.match(script, /^# {3}ip -6 addr del 2404:8e00:12:34ff::b4\/128 dev eth1$/m);
  // a WAN with its own address gets no address of mapectl's
  assert.doesNotMatch(renderDsLiteShell(dsLiteCasePlan()), /ip -6 addr add/);
});

test("DS-Lite rendered away from the router stops before any change until the WAN address is filled in", () => {
  const plan = dsLiteAwayPlan();
  const r = runScriptWithStubs(renderDsLiteShell(plan), plan.wan, "absent");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /replace WAN-IPV6-ADDRESS with the WAN's global IPv6 address first/);
  assert.deepEqual(changes(r.calls), []);
});

test("IPIP: on a fresh host the script adds the CE address, the BR route, the tunnel with the fixed /32, the route and the masquerade", () => {
  const plan = ipipCasePlan();
  const script = renderIpipShell(plan);
  assert.equal(spawnSync("sh", ["-n"], { input: script, encoding: "utf8" }).status, 0);
  const r = runScriptWithStubs(script, plan.wan, "absent");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls), [
    [...forwarding(true)],
    [...ceAddressAdd(plan, true)],
    [...brRoute("replace", plan.br, plan.gateway, plan.wan)],
    [...tunnelAdd(plan)],
    [...linkSet("ipip", ["up"])],
    [...ipv4Address("add", "203.0.113.9", 32, "ipip")],
    [...ipv4Default("add", "ipip", 10)],
    ["nft", "-f", "-"],
  ]);
  const nft = renderIpipNftables(plan);
  assert.equal(r.nftInput, nft + nft);
  assert.match(nft, /oifname "ipip" ip saddr != 203\.0\.113\.9 snat ip to 203\.0\.113\.9\n/);
  assert.match(nft, /iifname "ipip" tcp dport 443 dnat ip to 192\.168\.1\.10:8443/);
  // the account never reaches a rendered file, only the URL's placeholders
  assert.match(script, /registered through the provider's update URL/);
  assert.doesNotMatch(script, /\{password\}|pass=/);
});

test("IPIP rendered away from the router stops before any change until the gateway is filled in; a block keeps its own sources", () => {
  const plan = ipipBlockPlan();
  const r = runScriptWithStubs(renderIpipShell(plan), plan.wan, "absent");
  assert.equal(r.code, 2);
  assert.deepEqual(changes(r.calls), []);
  assert.match(
    renderIpipNftables(plan),
    /oifname "tun1" ip saddr != 198\.51\.100\.8\/29 snat ip to 198\.51\.100\.8\n/,
  );
});
