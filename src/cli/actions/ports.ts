import type { DsLitePlan } from "../../plan/dslite-plan.ts";
import type { IpipPlan } from "../../plan/ipip-plan.ts";
import { isDsLitePlan, isMapePlan } from "../../plan/method.ts";
import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { processRunner, type CommandRunner } from "../../host/command-runner.ts";
import { listNatFlows, needsPrivilege } from "../../host/conntrack.ts";
import { loadState } from "../../host/state-store.ts";
import { portUsage, type NatFlow, type PortUsage } from "../../plan/port-usage.ts";
import { bar, formatCount, load, plural, portRange, protocolList } from "../../web/format.ts";
import { CliError } from "../exit-codes.ts";
import { formatFields, type Output } from "../output.ts";

export interface PortsFlags {
  watch?: boolean;
  count?: string;
  json?: boolean;
}

/** `ports --json` (schemaVersion 1): the port usage of the applied plan at one moment. */
export interface PortsReport extends PortUsage {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly method: "map-e";
  readonly at: string;
  readonly ipv4Address: string;
  readonly psid: number | null;
  readonly tunnel: string;
}

/**
 * `ports --json` on a line whose router has no port set: DS-Lite (the AFTR translates and holds the
 * ports) or IPIP (every port of the fixed address is the router's).
 */
export interface NoPortSetReport {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly method: "ds-lite" | "ipip";
  readonly at: string;
  readonly tunnel: string;
  /** The router's own IPv4 address: DS-Lite's B4 address, IPIP's fixed address. */
  readonly ipv4Address: string;
  readonly portSet: null;
  /** Where the NAT is: the AFTR's (DS-Lite), or the router's masquerade to all ports (IPIP). */
  readonly nat: "aftr" | "router-all-ports";
  readonly why: string;
}

export type PortsDocument = PortsReport | NoPortSetReport;

function noPortSet(plan: DsLitePlan | IpipPlan): NoPortSetReport {
  const dsLite = isDsLitePlan(plan);
  return {
    schemaVersion: SCHEMA_VERSION,
    method: dsLite ? "ds-lite" : "ipip",
    at: new Date().toISOString(),
    tunnel: plan.tunnel.name,
    ipv4Address: dsLite ? plan.b4Address : plan.ipv4Address,
    portSet: null,
    nat: dsLite ? "aftr" : "router-all-ports",
    why: dsLite
      ? `DS-Lite: no NAT on this router; the AFTR ${plan.aftr.name ?? plan.aftr.address} translates and holds the ports, so there is no port set to count here`
      : `IPIP: every port of the fixed address ${plan.ipv4Address} is this router's; there is no port set to run short of`,
  };
}

const REFRESH_MS = 2_000;
const BLOCKS_IN_ONE_COLUMN = 16;

/** The applied plan's NAT flows from conntrack; one-line errors for the two usual reasons it cannot. */
export async function readPorts(runner: CommandRunner): Promise<PortsDocument> {
  const state = loadState();
  if (state === null) {
    throw new CliError(
      "environment",
      "MAP-E is not applied on this host (run mapectl up): there is no port set to count",
    );
  }
  const plan = state.plan;
  if (!isMapePlan(plan)) return noPortSet(plan);
  let flows: NatFlow[];
  try {
    flows = await listNatFlows(runner, plan.ipv4Address);
  } catch (err) {
    if (needsPrivilege(err)) {
      throw new CliError(
        "environment",
        "reading conntrack needs root (or CAP_NET_ADMIN): run mapectl ports as root",
      );
    }
    throw err;
  }
  const usage = portUsage(flows, plan.portSets, plan.portCount, plan.allocator, plan.maxPortsPerHost ?? null);
  const psid = plan.parameters.psid;
  return {
    schemaVersion: SCHEMA_VERSION,
    method: "map-e",
    at: new Date().toISOString(),
    ipv4Address: plan.ipv4Address,
    psid: typeof psid === "number" ? psid : null,
    tunnel: plan.tunnel.name,
    ...usage,
  };
}

/** The human form: totals, headroom, one line per block with a bar, the busiest hosts and destinations. */
export function describePorts(report: PortsReport): string {
  const blocks = report.perBlock.length;
  const headroom = Object.entries(report.headroom.perProtocol)
    .map(([protocol, h]) => `${protocol} ${formatCount(h.free)}`)
    .join(", ");
  const lines = [
    `mapectl ports: ${report.ipv4Address}${report.psid === null ? "" : ` PSID ${report.psid}`}, ${formatCount(report.portCount)} ports in ${plural(blocks, "block")}`,
    formatFields([
      ["flows", `${formatCount(report.total)} (${protocolList(report.perProtocol)})`],
      [
        "headroom",
        `${formatCount(report.headroom.free)} of ${formatCount(report.portCount)} ports free (${headroom})`,
      ],
    ]),
  ];
  if (report.outsideSet > 0) {
    lines.push(
      `  warning: ${plural(report.outsideSet, "flow")} ${report.outsideSet === 1 ? "uses" : "use"} a port outside the port set: the BR drops them`,
    );
  }
  const labels = report.perBlock.map((b) => portRange(b.first, b.last).replace("–", "-"));
  const width = Math.max(...labels.map((l) => l.length));
  const countWidth = Math.max(...report.perBlock.map((b) => String(b.used).length));
  // 63 blocks (OCN) in one column would not fit a terminal under --watch: three columns then
  const columns = blocks > BLOCKS_IN_ONE_COLUMN ? 3 : 1;
  const cells = report.perBlock.map((b, i) => {
    const fill = bar(load(b.used, b.last - b.first + 1), columns === 1 ? 16 : 8);
    return `${(labels[i] ?? "").padEnd(width)}  ${String(b.used).padStart(countWidth)}  ${fill}`;
  });
  const rows = Math.ceil(cells.length / columns);
  lines.push("  per block (flows)");
  for (let row = 0; row < rows; row++) {
    const line: string[] = [];
    for (let column = 0; column < columns; column++) {
      const cell = cells[column * rows + row];
      if (cell !== undefined) line.push(cell);
    }
    lines.push(`    ${line.join("    ")}`);
  }
  const top = (title: string, items: readonly { key: string; flows: number; note?: string }[]) => {
    lines.push(`  ${title}`);
    if (items.length === 0) lines.push("    none");
    const keyWidth = Math.max(...items.map((i) => i.key.length));
    for (const i of items)
      lines.push(
        `    ${i.key.padEnd(keyWidth)}  ${formatCount(i.flows)}${i.note === undefined ? "" : `  ${i.note}`}`,
      );
  };
  const limit = report.perHostLimit;
  top(
    limit === null
      ? "busiest inside hosts (flows)"
      : `busiest inside hosts (flows; open of the ${limit} each may hold)`,
    report.busiestHosts.map((h) => ({
      key: h.address,
      flows: h.flows,
      ...(limit === null
        ? {}
        : {
            note: `${formatCount(h.open)}/${formatCount(limit)}${h.open >= limit ? " at its limit: new flows refused" : ""}`,
          }),
    })),
  );
  top(
    "busiest destinations (flows)",
    report.busiestDestinations.map((d) => ({ key: d.destination, flows: d.flows })),
  );
  return lines.join("\n");
}

function parseCount(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) {
    throw new CliError("usage", `--count must be a whole number of refreshes from 1, not "${text}"`);
  }
  return Number(text);
}

/** Sleeps, or ends early (false) on Ctrl-C or SIGTERM. */
function pause(ms: number, stop: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (stop.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      stop.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    stop.addEventListener("abort", onAbort, { once: true });
  });
}

const CLEAR = "\x1b[H\x1b[2J";

export async function runPorts(
  flags: PortsFlags,
  output: Output,
  options: { runner?: CommandRunner; tty?: boolean } = {},
): Promise<void> {
  const runner = options.runner ?? processRunner;
  const count = parseCount(flags.count);
  if (count !== null && flags.watch !== true) throw new CliError("usage", "--count goes with --watch");
  const show = (report: PortsDocument, frame: number) => {
    if (flags.json === true) {
      // one document per line under --watch, so the stream can be read line by line
      output.out(flags.watch === true ? JSON.stringify(report) : JSON.stringify(report, null, 2));
      return;
    }
    const text = report.method === "map-e" ? describePorts(report) : `mapectl ports: ${report.why}`;
    if (flags.watch !== true) output.out(text);
    else if (options.tty === true) output.out(`${CLEAR}${text}\n\nevery 2 s, Ctrl-C ends`);
    else output.out(`${frame > 0 ? "\n" : ""}${report.at}\n${text}`);
  };
  if (flags.watch !== true) {
    show(await readPorts(runner), 0);
    return;
  }
  const controller = new AbortController();
  const stop = () => {
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    for (let frame = 0; count === null || frame < count; frame++) {
      if (frame > 0 && !(await pause(REFRESH_MS, controller.signal))) break;
      let report: PortsDocument;
      try {
        report = await readPorts(runner);
      } catch (err) {
        // Ctrl-C reaches conntrack too (same process group): its failure then is just the end
        if (controller.signal.aborted) break;
        throw err;
      }
      show(report, frame);
      // no port set: nothing to follow
      if (report.method !== "map-e") break;
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
