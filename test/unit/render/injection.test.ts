import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { formatLogLine } from "../../../src/host/event-log.ts";
import { parse as parseToml } from "smol-toml";
import { parseConfig } from "../../../src/plan/config.ts";
import { renderStarterConfig } from "../../../src/plan/starter-config.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { planWithoutHost } from "../../../src/plan/desired.ts";
import type { MapePlan } from "../../../src/plan/plan.ts";
import { renderTarget } from "../../../src/render/render.ts";
import { renderSystemdUnit } from "../../../src/render/systemd.ts";
import { RENDER_TARGETS } from "../../../src/render/targets.ts";
import { ruleSpec } from "../../../src/mape/rule.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { mergeTables, parseRuleTable, selectRule } from "../../../src/rules/table.ts";
import { CASES, settingsFor } from "./cases.ts";

/** The user's shipped rule, again from a rules file whose service has the given name. */
export function planWithServiceName(name: string): MapePlan {
  const shipped = selectRule(shippedRuleTable(), parseIpv6Prefix(CASES.user));
  assert.ok(shipped !== null);
  const spec = ruleSpec(shipped.rule);
  const doc = {
    services: { evil: { name } },
    rules: [{ ...spec, service: "evil" }],
  };
  const table = mergeTables(
    parseRuleTable(JSON.parse(JSON.stringify(doc)), "evil-rules.json"),
    shippedRuleTable(),
  );
  return planWithoutHost(settingsFor(CASES.user), table, shippedNotMape()).plan;
}

const PAYLOAD = "BIGLOBE\ntouch /tmp/owned\n[Network]\nDNS=192.0.2.53\r\nset system login user x";
const COMMENT = /^\s*(#|;|$)/;

test("a service name from a rules file stays inside one comment line in every target", () => {
  const plan = planWithServiceName(PAYLOAD);
  for (const target of RENDER_TARGETS) {
    for (const file of renderTarget(target, plan).files) {
      for (const line of file.content.split("\n")) {
        if (!line.includes("owned") && !line.includes("DNS=") && !line.includes("login user")) continue;
        assert.match(
          line,
          COMMENT,
          `${target} ${file.path}: the service name made a line of its own: ${line}`,
        );
        assert.ok(line.includes("\\n"), `${target} ${file.path}: the line break is shown, not kept: ${line}`);
      }
    }
  }
});

test("the rendered shell script with a hostile service name runs no command of the name", () => {
  const script = renderTarget("shell", planWithServiceName(PAYLOAD)).files[0]?.content ?? "";
  const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!script.split("\n").some((l) => l.startsWith("touch")));
});

test("a line break, %-specifier or $-variable in a unit's words cannot add directives or expand", () => {
  assert.throws(
    () =>
      renderSystemdUnit({
        command: ["/usr/sbin/mapectl"],
        watchArgs: ["--config", "/etc/mapectl/a.toml\nExecStartPre=/bin/sh -c id"],
      }),
    /cannot be written into a systemd file/,
  );
  assert.throws(
    () => renderSystemdUnit({ command: ["/usr/sbin/mapectl"], extraWritablePaths: ["/srv\n[Install]"] }),
    /cannot be written into a systemd file/,
  );
  const unit = renderSystemdUnit({
    command: ["/opt/%h/mapectl"],
    watchArgs: ["--config", "/etc/$HOME/c.toml"],
  }).content;
  assert.match(unit, /^ExecStart=\/opt\/%%h\/mapectl watch --config \/etc\/\$\$HOME\/c\.toml$/m);
});

test("a message quoting a server stays one journal line and one log line", () => {
  const event = {
    at: "2026-01-01T00:00:00Z",
    level: "info" as const,
    message: 'HB46PP: service "v6\n<3>mapectl: forged error\r\u2028" answered',
  };
  for (const underJournal of [true, false]) {
    const line = formatLogLine(event, underJournal);
    assert.equal(line.split("\n").length, 2, JSON.stringify(line));
    assert.ok(line.endsWith("\n") && !line.includes("\r") && !line.includes("\u2028"));
    assert.ok(line.includes("\\n<3>mapectl: forged error\\r\\u2028"), line);
  }
});

test("the starter config keeps a service name in its comment and an odd interface name in its string", () => {
  const text = renderStarterConfig({
    wan: 'eth"1\u007f',
    lan: ["lan\\0"],
    prefixNote: '2404:7a82:4d02:4100::/56, seen\n[tunnel]\nname = "evil"',
    parametersNote: 'BIGLOBE\nsource = "manual"\r\n[parameters.rule]',
  });
  // The TOML keeps the odd names as strings, and adds no key of the notes' text...
  const doc = parseToml(text) as { wan?: unknown; lan?: unknown; tunnel?: unknown; parameters?: unknown };
  assert.equal(doc.wan, 'eth"1\u007f');
  assert.deepEqual(doc.lan, ["lan\\0"]);
  assert.equal((doc.tunnel as { name?: unknown } | undefined)?.name, "mape");
  const parameters = doc.parameters as { rule?: unknown; source?: unknown } | undefined;
  assert.equal(parameters?.rule, undefined);
  assert.notEqual(parameters?.source, "manual");
  // ...and loading it then refuses the name as no interface's, naming the file and key.
  assert.throws(
    () => parseConfig(text, "config.toml"),
    /config\.toml: wan "eth"1\\x7f" is not a valid interface name/,
  );
  const sane = parseConfig(
    renderStarterConfig({
      wan: "eth1",
      lan: ["lan0"],
      prefixNote: '2404:7a82:4d02:4100::/56, seen\n[tunnel]\nname = "evil"',
      parametersNote: 'BIGLOBE\nsource = "manual"\r\n[parameters.rule]',
    }),
    "config.toml",
  );
  assert.equal(sane.source, "tables");
  assert.equal(sane.tunnelName, "mape");
  assert.equal(sane.rule, undefined);
});
