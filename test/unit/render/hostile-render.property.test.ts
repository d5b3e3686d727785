import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import fc from "fast-check";
import { formatLogLine } from "../../../src/host/event-log.ts";
import { formatIpv4Prefix, ipv4Mask } from "../../../src/mape/ipv4.ts";
import { formatIpv6Prefix, ipv6Mask, parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import { gatewayAddress } from "../../../src/plan/config.ts";
import { GATEWAY_PLACEHOLDER } from "../../../src/plan/desired.ts";
import { buildPlan, type MapePlan, type PortForward } from "../../../src/plan/plan.ts";
import { resolveParameters, type ProvisionedRules } from "../../../src/provision/parameters.ts";
import { parseHb46ppReply } from "../../../src/provision/hb46pp.ts";
import { renderTarget } from "../../../src/render/render.ts";
import { renderSystemdUnit } from "../../../src/render/systemd.ts";
import type { RenderedFile } from "../../../src/render/targets.ts";
import { VYOS_CONFIGURE_FILE } from "../../../src/render/vyos.ts";
import { shippedNotMape, shippedRuleTable } from "../../../src/rules/shipped.ts";
import { mergeTables, parseRuleTable, type RuleTable } from "../../../src/rules/table.ts";
import { isRoot, Netns } from "../../helpers/netns.ts";
import { casePlan, CASES } from "./cases.ts";
import { checkNft } from "./nft-grammar.ts";
import { iniShape, parseIni, splitHeredoc, statementLines, unitWords } from "./output-parsers.ts";
import { checkSet, loadSchema } from "./vyos-schema.ts";

/**
 * Every target rendered from fuzzed rules files, configuration and HB46PP answers, each output read
 * back the way its consumer reads it. Whatever the strings hold, a case either fails with one clean
 * line or renders files with exactly the statements, sections and keys the plan asks for.
 */

const RUNS = 150;
/** sh -n and nft -c spawn processes: only the first plans that render are checked with them. */
const SPAWN_SAMPLE = 12;

// prettier-ignore
const HOSTILE_PIECES = [
  "\n", "\r\n", "'", '"', "$(touch /tmp/mapectl-owned)", "`id`", ";", "&&", "[Network]",
  "\n[Route]\nGateway=::1", "}", "\n}\ntable ip evil {", "\0", "\u2028", "\u202e", "\u0085",
  "\x1b[2J", "é", "🙂", "\\", "#", "%h", "$HOME", "\nset system login user evil", "\nMAPECTL_NFT\n",
];
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(...HOSTILE_PIECES),
      fc.string({ maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 4 }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(""));

const USER = parseIpv6Prefix(CASES.user);
/** Global IPv4 blocks a rule may use; the generator shortens them to the rule's length. */
const IPV4_BASES = [0x85d10000, 0xc6336400, 0xcb007100, 0xc0000200, 0x2b000000];

const ruleShape = fc
  .record({
    ipv4Length: fc.integer({ min: 16, max: 32 }),
    psidLength: fc.integer({ min: 0, max: 10 }),
    psidOffset: fc.integer({ min: 0, max: 8 }),
    ipv4Base: fc.constantFrom(...IPV4_BASES),
  })
  .filter((r) => r.psidOffset + r.psidLength <= 15);

/** Mostly what a real source sends, so most cases get as far as rendering; sometimes hostile text. */
function mostly<T>(usual: fc.Arbitrary<T>, ...unusual: fc.Arbitrary<T>[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: usual, weight: 8 }, ...unusual.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

const brText = mostly(
  fc.constantFrom("2001:db8::1", "2001:260:700:1::1:275", "2404:9200:225:100::64"),
  fc.constantFrom("::1", "fe80::1", "ff02::1", "fd00::1", "::"),
  hostile,
);

type Of<A> = A extends fc.Arbitrary<infer T> ? T : never;

function ruleFields(shape: Of<typeof ruleShape>, br: string) {
  const eaBits = 32 - shape.ipv4Length + shape.psidLength;
  const length = 56 - eaBits;
  const ipv4 = { value: (shape.ipv4Base & ipv4Mask(shape.ipv4Length)) >>> 0, length: shape.ipv4Length };
  return {
    ipv6Prefix: formatIpv6Prefix({ value: USER.value & ipv6Mask(length), length }),
    ipv4Prefix: formatIpv4Prefix(ipv4),
    eaBits,
    psidOffset: shape.psidOffset,
    br,
  };
}

const config = fc.record({
  wan: mostly(fc.constantFrom("eth1", "eth0.10", "enp1s0", "wan0"), hostile),
  tunnelName: mostly(fc.constantFrom("mape", "tun0", "tun7"), hostile),
  gateway: mostly(fc.constantFrom(null, "fe80::1", "FE80::A611:BBFF:FE7D:EE11", "2001:db8::fe"), hostile),
  mtu: mostly(fc.integer({ min: 1280, max: 1460 }), fc.integer({ min: 1200, max: 1500 })),
  metric: fc.integer({ min: 0, max: 2 ** 32 }),
  tcpTimeWait: mostly(fc.option(fc.integer({ min: 1, max: 240 })), fc.integer({ min: 0, max: 300 })),
  forwards: mostly(
    fc.constant<PortForward[]>([]),
    fc.array(
      fc.record({
        protocol: fc.constantFrom("tcp" as const, "udp" as const),
        port: fc.integer({ min: 1, max: 65535 }),
        toAddress: fc.constantFrom("192.168.1.10", "10.0.0.2"),
        toPort: fc.integer({ min: 1, max: 65535 }),
      }),
      { maxLength: 2 },
    ),
  ),
});

const source = fc.oneof(
  fc.record({ kind: fc.constant("file" as const), service: hostile, rule: ruleShape, br: brText }),
  fc.record({
    kind: fc.constant("hb46pp" as const),
    service: hostile,
    rule: ruleShape,
    br: brText,
    extra: hostile,
  }),
);

const CLEAN_ERRORS = [
  "MapeError",
  "PlanError",
  "ConfigError",
  "UnsafeValueError",
  "VyosRenderError",
  "DecodeError",
];

/** A refusal is fine; it must be one of mapectl's errors, in one line. */
function assertClean(err: unknown): void {
  assert.ok(err instanceof Error, String(err));
  assert.ok(CLEAN_ERRORS.includes(err.name), `${err.name}: ${err.message}`);
  assert.doesNotMatch(err.message, /[\n\r\u2028\u2029\0]/, err.message);
}

interface Built {
  readonly plan: MapePlan;
  readonly serviceName: string;
}

function tableFor(s: Of<typeof source>): RuleTable {
  if (s.kind !== "file") return shippedRuleTable();
  const doc = {
    services: { fuzz: { name: s.service } },
    rules: [{ service: "fuzz", ...ruleFields(s.rule, s.br) }],
  };
  return mergeTables(parseRuleTable(doc, "fuzz-rules.json"), shippedRuleTable());
}

function build(s: Of<typeof source>, c: Of<typeof config>): Built {
  const gateway = c.gateway === null ? GATEWAY_PLACEHOLDER : gatewayAddress(c.gateway, "--gateway");
  let provisioned: ProvisionedRules | undefined;
  if (s.kind === "hb46pp") {
    const fields = ruleFields(s.rule, s.br);
    const body = JSON.stringify({
      service_name: s.service,
      enabler_name: s.extra,
      order: ["map_e", s.extra],
      map_e: {
        br: s.br,
        rules: [
          {
            ipv6: fields.ipv6Prefix,
            ipv4: fields.ipv4Prefix,
            ea_length: fields.eaBits,
            psid_offset: fields.psidOffset,
          },
        ],
      },
    });
    const reply = parseHb46ppReply(body);
    for (const warning of reply.warnings) {
      const line = formatLogLine(
        { at: "t", level: "warning", message: `HB46PP ${reply.serviceName ?? ""}: ${warning}` },
        true,
      );
      assert.equal(line.split("\n").length, 2, line);
    }
    assert.ok(reply.mapE !== null);
    provisioned = { source: "hb46pp", rules: reply.mapE.rules, interfaceId: reply.mapE.ceInterfaceId };
  }
  const resolved = resolveParameters({
    prefix: USER,
    table: tableFor(s),
    notMape: shippedNotMape(),
    provisioned,
  });
  const plan = buildPlan({
    resolved,
    wan: c.wan,
    lan: ["lan0"],
    gateway,
    tunnelName: c.tunnelName,
    mtu: c.mtu,
    defaultRouteMetric: c.metric,
    forwards: c.forwards,
    tcpTimeWait: c.tcpTimeWait,
  });
  return { plan, serviceName: s.service };
}

const reference = {
  withGateway: casePlan(CASES.user),
  placeholder: casePlan(CASES.user, { gateway: null }),
};
const refFiles = (plan: MapePlan, target: "shell" | "systemd-networkd" | "vyos") =>
  renderTarget(target, plan).files;
const NFT_DELIMITER = "MAPECTL_NFT";

function refFor(plan: MapePlan): MapePlan {
  return plan.gateway === GATEWAY_PLACEHOLDER ? reference.placeholder : reference.withGateway;
}

/** The same plan with a harmless service name: what the hostile one must not change but comments. */
function twin(plan: MapePlan): MapePlan {
  return { ...plan, parameters: { ...plan.parameters, serviceName: "svc" } };
}

let vyosSchema: ReturnType<typeof loadSchema> | undefined;
// sagitta (1.4): the firewall's definitions differ per branch and the render's state-policy lines
// need them; vyos.test checks every line against both branches.
const schema = () =>
  (vyosSchema ??= loadSchema(
    ["interfaces_tunnel.xml.in", "interfaces_ethernet.xml.in", "protocols_static.xml.in", "firewall.xml.in"],
    "sagitta",
  ));

function onlyFile(files: readonly RenderedFile[]): string {
  assert.equal(files.length, 1);
  return files[0]?.content ?? "";
}

function checkShell(plan: MapePlan, spawnChecks: boolean): string | null {
  const script = onlyFile(renderTarget("shell", plan).files);
  const { shell, heredoc } = splitHeredoc(script, NFT_DELIMITER);
  assert.ok(heredoc !== null, "the script embeds the nft table once");
  assert.equal(shell.split(`\n${NFT_DELIMITER}\n`).length, 1, "the delimiter appears once");
  const expected = statementLines(
    splitHeredoc(onlyFile(refFiles(refFor(plan), "shell")), NFT_DELIMITER).shell,
  );
  assert.equal(statementLines(shell).length, expected.length, "shell statement count");
  assert.deepEqual(statementLines(script), statementLines(onlyFile(renderTarget("shell", twin(plan)).files)));
  checkNft(heredoc, plan, "shell");
  if (spawnChecks) {
    const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(r.status, 0, `sh -n: ${r.stderr}`);
  }
  return heredoc;
}

function checkIniFiles(files: readonly RenderedFile[], refs: readonly RenderedFile[], plan: MapePlan): void {
  assert.equal(files.length, refs.length);
  files.forEach((file, i) => {
    const ref = refs[i];
    assert.ok(ref !== undefined);
    if (file.path.endsWith(".nft")) {
      checkNft(file.content, plan, file.path);
      return;
    }
    const parsed = parseIni(file.content);
    assert.deepEqual(parsed.errors, [], `${file.path}: lines systemd cannot read`);
    assert.deepEqual(
      iniShape(parsed.entries),
      iniShape(parseIni(ref.content).entries),
      `${file.path}: sections and keys`,
    );
    const gateway = parsed.entries.find((e) => e.key === "Gateway");
    if (gateway !== undefined) assert.equal(gateway.value, plan.gateway);
  });
}

function checkVyos(plan: MapePlan): void {
  const files = renderTarget("vyos", plan).files;
  const configure = files.find((f) => f.path === VYOS_CONFIGURE_FILE)?.content ?? "";
  const sets = statementLines(configure);
  const refSets = statementLines(
    refFiles(refFor(plan), "vyos").find((f) => f.path === VYOS_CONFIGURE_FILE)?.content ?? "",
  );
  assert.equal(sets.length, refSets.length, "VyOS set line count");
  // The placeholder is meant to be refused by VyOS until the user fills it in, and an interface name
  // such as enp1s0 passes VyOS's check by existing in /sys/class/net on the router, which this
  // reader cannot look at: both stand in for values that pass, and every other word is checked.
  const standIn = (line: string) =>
    line.replace(GATEWAY_PLACEHOLDER, "fe80::1").replaceAll(`interface ${plan.wan}`, "interface eth9");
  for (const line of sets) assert.equal(checkSet(schema(), standIn(line), "sagitta"), null, line);
  const nft = files.find((f) => f.path.endsWith(".nft"));
  checkNft(nft?.content ?? "", plan, "vyos nft");
}

let ns: Netns | undefined;
const nftSkip =
  (!isRoot() && "needs root for a network namespace") ||
  (!existsSync("/usr/sbin/nft") && "nft is not installed");
after(() => ns?.destroy());

function nftAccepts(text: string): void {
  if (nftSkip !== false) return;
  ns ??= new Netns("mapectl-hostile");
  const r = ns.run(["nft", "-c", "-f", "-"], text);
  assert.equal(r.code, 0, `nft -c: ${r.stderr}`);
}

test("every target rendered from hostile rules, config and HB46PP answers has only the statements the plan asks for", () => {
  let rendered = 0;
  let refused = 0;
  fc.assert(
    fc.property(source, config, (s, c) => {
      let built: Built;
      try {
        built = build(s, c);
      } catch (err) {
        assertClean(err);
        refused++;
        return;
      }
      const spawnChecks = rendered < SPAWN_SAMPLE;
      rendered++;
      const { plan } = built;
      const table = checkShell(plan, spawnChecks);
      if (spawnChecks && table !== null) nftAccepts(table);
      checkIniFiles(
        renderTarget("systemd-networkd", plan).files,
        refFiles(refFor(plan), "systemd-networkd"),
        plan,
      );
      assert.deepEqual(
        renderTarget("nftables", plan).files.map((f) => f.content),
        [renderTarget("nftables", twin(plan)).files[0]?.content],
      );
      try {
        checkVyos(plan);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assertClean(err);
      }
    }),
    { numRuns: RUNS, includeErrorInReport: true },
  );
  // Both outcomes must occur, or the generators test nothing.
  assert.ok(rendered >= RUNS / 10, `only ${rendered} of ${RUNS} cases rendered`);
  assert.ok(refused >= RUNS / 10, `only ${refused} of ${RUNS} cases were refused`);
});

test("the unit's words from install come back word for word, or are refused", () => {
  const ref = iniShape(parseIni(renderSystemdUnit({ command: ["/usr/sbin/mapectl"] }).content).entries);
  const word = fc.oneof(fc.constantFrom("/usr/sbin/mapectl", "/opt/map ectl/bin", "--config"), hostile);
  fc.assert(
    fc.property(
      fc.array(word, { minLength: 1, maxLength: 3 }),
      fc.array(word, { maxLength: 3 }),
      fc.array(word, { maxLength: 2 }),
      (command, watchArgs, paths) => {
        let content: string;
        try {
          content = renderSystemdUnit({ command, watchArgs, extraWritablePaths: paths }).content;
        } catch (err) {
          assertClean(err);
          return;
        }
        const parsed = parseIni(content);
        assert.deepEqual(parsed.errors, []);
        assert.deepEqual(iniShape(parsed.entries), ref);
        const exec = parsed.entries.find((e) => e.key === "ExecStart")?.value ?? "";
        assert.deepEqual(unitWords(exec), [...command, "watch", ...watchArgs]);
        const writable = parsed.entries.find((e) => e.key === "ReadWritePaths")?.value ?? "";
        assert.deepEqual(unitWords(writable), ["/var/lib/mapectl", "/run/mapectl", ...paths]);
      },
    ),
    { numRuns: RUNS, includeErrorInReport: true },
  );
});

test("nft -c accepts the table of a plan with forwards and a TIME_WAIT", { skip: nftSkip }, () => {
  const plan = casePlan(CASES.user, {
    forwards: [{ protocol: "udp", port: 5140, toAddress: "192.168.1.10", toPort: 5140 }],
    tcpTimeWait: 30,
  });
  nftAccepts(renderTarget("nftables", plan).files[0]?.content ?? "");
});
