import { JSON_HELP } from "../common-options.ts";
import type { Command } from "commander";
import { isIP } from "node:net";
import type { InterfaceIdLayout } from "../../mape/interface-id.ts";
import { formatIpv6Prefix, parseIpv6Prefix, type Ipv6Prefix } from "../../mape/ipv6.ts";
import type { ParameterSource } from "../../provision/parameters.ts";
import type { ProvisionResult, SourceReport } from "../../provision/provision.ts";
import type { CeIdentity } from "../../provision/hb46pp.ts";
import { collect, interfaceIdOption, isEverySource, SOURCE_HELP } from "../common-options.ts";
import { logText } from "../../text/log-line.ts";
import { CliError } from "../exit-codes.ts";
import { formatFields, printJson, type Output } from "../output.ts";
import { describeHuman } from "./calc.ts";

interface ProvisionCliOptions {
  wan?: string;
  prefix?: string;
  source: string;
  order?: string;
  resolver: string[];
  caFile?: string;
  rule?: string;
  rulesFile: string[];
  iid?: InterfaceIdLayout;
  solicit?: boolean;
  timeout: string;
  vendorId?: string;
  product?: string;
  ceVersion?: string;
  token?: string;
  json?: boolean;
}

const SOURCES: readonly ParameterSource[] = ["hb46pp", "dhcpv6", "tables", "manual"];
const DEFAULT_ORDER = "hb46pp,dhcpv6,tables,manual";

function sourceList(text: string, flag: string): ParameterSource[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const item of items) {
    if (!SOURCES.includes(item as ParameterSource)) {
      throw new CliError(
        "usage",
        `${flag}: unknown source "${item}" (${SOURCES.join(", ")}${flag === "--source" ? ", auto, all" : ""})`,
      );
    }
  }
  if (items.length === 0) throw new CliError("usage", `${flag}: no source given`);
  return items.filter((s, i) => items.indexOf(s) === i) as ParameterSource[];
}

/** The sources to ask, in order: --order ranks them, --source picks which of them run. */
export function chooseSources(source: string, order: string | undefined): ParameterSource[] {
  const ranked = sourceList(order ?? DEFAULT_ORDER, "--order");
  const ranking = [...ranked, ...SOURCES.filter((s) => !ranked.includes(s))];
  if (isEverySource(source)) return ranked;
  const picked = sourceList(source, "--source");
  return ranking.filter((s) => picked.includes(s));
}

/** What c-ares accepts: an address, or [IPv6]:port / IPv4:port; scoped link-local addresses it cannot use. */
function isResolverAddress(text: string): boolean {
  const bracket = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  if (bracket !== null) return isIP(bracket[1] ?? "") === 6 && Number(bracket[2]) <= 65535;
  const v4port = /^([0-9.]+):(\d{1,5})$/.exec(text);
  if (v4port !== null) return isIP(v4port[1] ?? "") === 4 && Number(v4port[2]) <= 65535;
  return isIP(text) !== 0 && !text.includes("%");
}

export function registerProvision(program: Command, output: Output): void {
  program
    .command("provision")
    .summary("ask the network (HB46PP, DHCPv6 S46) and the tables for MAP-E parameters")
    .description(
      "Ask each source for the MAP-E parameters of this line, show what each one says and where they disagree,\n" +
        "and pick one: by default HB46PP, then DHCPv6 S46, then the shipped tables, then a manual --rule.",
    )
    .option("--wan <interface>", "the WAN interface: DHCPv6 runs on it, and the prefix is read from it")
    .option("--prefix <prefix>", "the delegated prefix (default: read from the WAN's global address)")
    .option("--source <list>", `${SOURCE_HELP}, or a comma list of them`, "auto")
    .option(
      "--order <list>",
      `preference order (default ${DEFAULT_ORDER}); with --source auto, only these are asked`,
    )
    .option(
      "--resolver <address>",
      "a DNS resolver of the line for HB46PP (repeatable; default: the DNS servers of the WAN's DHCPv6 answer)",
      collect,
      [],
    )
    .option("--ca-file <file>", "extra CA certificates (PEM) for HB46PP servers whose TXT record says t=b")
    .option(
      "--rule <spec>",
      "the manual rule: ipv6-prefix=P/L,ipv4-prefix=A/L,ea-bits=N,psid-offset=N[,br=ADDR]",
    )
    .option("--rules-file <file>", "add rules to the tables from a JSON file (repeatable)", collect, [])
    .addOption(interfaceIdOption("force the CE interface-ID layout"))
    .option("--solicit", "DHCPv6 Solicit/Advertise instead of Information-request (no lease is taken)")
    .option(
      "--timeout <seconds>",
      "deadline for the DHCPv6 exchange, the TXT lookup and each whole HTTP exchange (name, TLS, body)",
      "10",
    )
    .option("--vendor-id <id>", "HB46PP vendorid: OUI[-name] (default acde48-mapectl)")
    .option("--product <name>", "HB46PP product (default mapectl)")
    .option("--ce-version <version>", "HB46PP version, digits and _ (default 0_1)")
    .option(
      "--token <token>",
      "HB46PP token (default: the one the server last gave, kept in the state directory)",
    )
    .option("--json", JSON_HELP)
    .action(async (options: ProvisionCliOptions) => {
      const timeout = Number(options.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 600) {
        throw new CliError(
          "usage",
          `--timeout must be a number of seconds from 0 to 600, not "${options.timeout}"`,
        );
      }
      // Without --rule the manual source has nothing to say; list it only when asked for by name.
      const order = chooseSources(options.source, options.order).filter(
        (s) => s !== "manual" || options.rule !== undefined || !isEverySource(options.source),
      );
      for (const resolver of options.resolver) {
        if (!isResolverAddress(resolver)) {
          throw new CliError("usage", `--resolver ${resolver}: not an IP address (or [address]:port)`);
        }
      }
      if (options.prefix === undefined && options.wan === undefined) {
        throw new CliError(
          "usage",
          "give the delegated prefix with --prefix, or the WAN interface with --wan",
        );
      }
      await runProvision(output, options, order, timeout * 1000);
    });
}

const SOURCE_LABEL: Readonly<Record<ParameterSource, string>> = {
  hb46pp: "HB46PP",
  dhcpv6: "DHCPv6 S46",
  tables: "tables",
  manual: "manual",
};

function sourceLine(s: SourceReport): string {
  if (!s.ok) return `${s.status}: ${s.error ?? ""}`;
  const parts = [`BR ${s.br ?? "unknown"}`, `${s.rules.length} rule${s.rules.length === 1 ? "" : "s"}`];
  if (s.ceInterfaceId !== null) parts.push(`${s.ceInterfaceId} interface ID`);
  if (s.ttl !== null) parts.push(`TTL ${s.ttl} s`);
  const details = s.details;
  if (typeof details.elapsedMs === "number") parts.push(`answered in ${details.elapsedMs} ms`);
  const name =
    typeof details.serviceName === "string"
      ? details.serviceName
      : typeof details.enablerName === "string"
        ? details.enablerName
        : null;
  if (name !== null) parts.push(name);
  return `ok: ${parts.join(", ")}`;
}

/** HB46PP's resolvers and where they came from (the line's own, or an override). */
function resolverLine(s: SourceReport): string | null {
  const { resolvers, resolversFrom } = s.details;
  if (!Array.isArray(resolvers) || typeof resolversFrom !== "string") return null;
  const list = resolvers.length === 0 ? "none" : resolvers.map(String).join(", ");
  return `HB46PP resolver: ${list} (${resolversFrom})`;
}

export function describeProvision(result: ProvisionResult, prefixFrom: string): string {
  const lines = [`${formatIpv6Prefix(result.prefix)} (${prefixFrom})`, "sources:"];
  // Service names, decoder warnings and errors come from the network: one terminal line each.
  lines.push(formatFields(result.sources.map((s) => [SOURCE_LABEL[s.source], logText(sourceLine(s))])));
  for (const s of result.sources) {
    const resolver = s.source === "hb46pp" ? resolverLine(s) : null;
    if (resolver !== null) lines.push(logText(resolver));
    for (const w of s.warnings) lines.push(`warning: ${SOURCE_LABEL[s.source]}: ${logText(w)}`);
  }
  for (const d of result.disagreements) {
    lines.push(`disagreement on ${d.field}:`);
    lines.push(
      formatFields(
        Object.entries(d.values).map(([source, value]) => [
          SOURCE_LABEL[source as ParameterSource],
          logText(value),
        ]),
        "    ",
      ),
    );
  }
  if (result.chosen !== null) {
    lines.push(`chosen: ${SOURCE_LABEL[result.chosen.source]}`);
    lines.push(describeHuman(result.chosen));
  }
  return lines.join("\n");
}

function identityFrom(options: ProvisionCliOptions, defaults: CeIdentity): CeIdentity {
  return {
    vendorId: options.vendorId ?? defaults.vendorId,
    product: options.product ?? defaults.product,
    version: options.ceVersion ?? defaults.version,
    token: options.token ?? defaults.token,
  };
}

/** The delegated prefix to provision for: --prefix, else the one the WAN holds. */
async function provisionPrefix(
  options: ProvisionCliOptions,
): Promise<{ prefix: Ipv6Prefix; prefixFrom: string }> {
  if (options.prefix !== undefined) {
    return { prefix: parseIpv6Prefix(options.prefix), prefixFrom: "given with --prefix" };
  }
  const { readWanPrefix } = await import("../../host/provision-wan.ts");
  const wan = await readWanPrefix(options.wan ?? "");
  return { prefix: wan.prefix, prefixFrom: `read from ${wan.from}` };
}

async function runProvision(
  output: Output,
  options: ProvisionCliOptions,
  order: readonly ParameterSource[],
  timeoutMs: number,
): Promise<void> {
  // Loaded here so that `mapectl calc` does not pay for sockets, TLS and the codecs at start-up.
  const [{ provision, provisionJson }, hb46pp, { loadRuleTables }, { shippedNotMape }, { parseManualRule }] =
    await Promise.all([
      import("../../provision/provision.ts"),
      import("../../provision/hb46pp.ts"),
      import("../rule-tables.ts"),
      import("../../rules/shipped.ts"),
      import("../../rules/rule-spec.ts"),
    ]);
  const { fileMemoryStore } = await import("../../host/hb46pp-state.ts");
  const { rememberHb46pp } = await import("../../daemon/parameter-sources.ts");
  const memory = fileMemoryStore();
  const remembered = memory.load();
  const identity = identityFrom(options, {
    ...hb46pp.DEFAULT_IDENTITY,
    token: remembered.token ?? undefined,
  });
  const wrong = hb46pp.checkIdentity(identity);
  if (wrong !== null) throw new CliError("usage", wrong);
  const manualRule = options.rule === undefined ? undefined : parseManualRule(options.rule);
  const table = loadRuleTables(options.rulesFile);
  const { prefix, prefixFrom } = await provisionPrefix(options);
  const { hostProvisionIo } = await import("../../host/provision-io.ts");
  const io = hostProvisionIo({
    sources: order,
    wan: options.wan,
    resolvers: options.resolver,
    resolversFrom: "--resolver",
    caFile: options.caFile,
    timeoutMs,
  });
  const result = await provision(
    {
      prefix,
      order,
      table,
      notMape: shippedNotMape(),
      manualRule,
      interfaceId: options.iid,
      identity,
      emptyOrderConfirmed: remembered.emptyOrders >= 1,
      dhcpv6: {
        kind: options.solicit === true ? "solicit" : "information-request",
        maxDurationMs: timeoutMs,
      },
    },
    io,
  );
  if (order.includes("hb46pp")) memory.save(rememberHb46pp(remembered, result));
  for (const s of result.sources) {
    if (s.status === "port-in-use") output.err(`mapectl: warning: ${s.error ?? ""}`);
  }
  if (options.json === true) {
    const { lineMethod } = await import("../../provision/line-method.ts");
    const { shippedAftrNames } = await import("../../rules/shipped.ts");
    const line = lineMethod(result.sources, prefix, {
      notMape: shippedNotMape(),
      aftrNames: shippedAftrNames(),
    });
    printJson(output, {
      ...provisionJson(result),
      prefixFrom,
      method: line.method,
      aftr: line.method === "ds-lite" ? line.aftr : null,
    });
  }
  if (options.json !== true) output.out(describeProvision(result, prefixFrom));
  if (result.chosen === null) throw new CliError("no-parameters", result.reason ?? "no MAP-E parameters");
}
