/**
 * /: the router's MAP-E at a glance, read from /api/status every 2 s. Sections are rebuilt only
 * when their data changed, so text stays selectable (copying the CE address) while counters tick.
 */
import type { ApiStatus, DoctorView, ParametersView } from "../api.ts";
import { readParameters } from "../api.ts";
import type { StatusReport, TunnelStatus } from "../../daemon/status-report.ts";
import type { Finding } from "../../diagnose/findings.ts";
import type { PortUsage } from "../../plan/port-usage.ts";
import { ago, formatBytes, formatCount, load, percent, plural, protocolList } from "../format.ts";
import { byId, h, type Child } from "./dom.ts";
import { blockList, mapLegend, parametersList, portMap, portsSummary, warningList } from "./views.ts";

const POLL_MS = 2000;
const app = byId("app", HTMLElement);
const live = byId("live", HTMLElement);

interface Counters {
  readonly at: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}
let previousCounters: Counters | null = null;
let rates: { rx: number; tx: number } | null = null;

function card(id: string, title: string, ...body: Child[]): HTMLElement {
  return h("section", { class: "card", id }, h("h2", {}, title), ...body);
}

function rows(list: readonly (readonly [string, Child])[]): HTMLElement {
  return h(
    "dl",
    { class: "fields" },
    ...list.map(([k, v]) => h("div", { class: "field" }, h("dt", {}, k), h("dd", {}, v))),
  );
}

function badge(kind: "ok" | "warn" | "fail", text: string): HTMLElement {
  return h("span", { class: `badge ${kind}` }, text);
}

function summaryCard(status: StatusReport, p: ParametersView | null, doctor: DoctorView | null): HTMLElement {
  const tunnel = status.tunnel;
  const ports = status.ports;
  const failing = doctor?.findings.filter((f) => f.verdict === "fail").length ?? 0;
  const badges: HTMLElement[] = [];
  if (tunnel !== null) {
    badges.push(
      tunnel.exists
        ? badge(tunnel.up ? "ok" : "fail", `tunnel ${tunnel.name} ${tunnel.up ? "up" : "down"}`)
        : badge("fail", `tunnel ${tunnel.name} missing`),
    );
  }
  badges.push(
    status.inSync
      ? badge("ok", "host matches the plan")
      : badge("warn", `host differs from the plan (${status.drift.length})`),
  );
  if (doctor !== null) {
    badges.push(
      doctor.ok === null
        ? badge("warn", "doctor could not run")
        : failing === 0
          ? badge("ok", "doctor: no failures")
          : badge("fail", `doctor: ${plural(failing, "problem")}`),
    );
  }
  const used = ports === null ? null : ports.portCount - ports.headroom.free;
  // the protocol that has taken the most ports is the one that runs out first
  const tightest = Object.entries(ports?.headroom.perProtocol ?? {}).sort((a, b) => a[1].free - b[1].free)[0];
  return h(
    "section",
    { class: "card summary", id: "summary" },
    h(
      "div",
      { class: "headline" },
      h("span", { class: "ipv4", id: "headline-ipv4" }, p?.ipv4Address ?? "?"),
      h(
        "span",
        { class: "sub" },
        p === null ? "" : `PSID ${p.psid} · ${p.serviceName ?? "no known service"}`,
      ),
    ),
    ports === null || used === null
      ? h("p", { class: "usage" }, "NAT ports in use: unknown (conntrack cannot be read)")
      : h(
          "div",
          { class: "usage" },
          h("meter", {
            min: 0,
            max: ports.portCount,
            value: used,
            low: ports.portCount * 0.6,
            high: ports.portCount * 0.85,
            optimum: 0,
          }),
          h(
            "span",
            {},
            `${formatCount(used)} of ${formatCount(ports.portCount)} ports in use${used > 0 && tightest !== undefined ? ` (${tightest[0]})` : ""} · ${formatCount(ports.headroom.free)} free`,
          ),
        ),
    h("p", { class: "badges" }, ...badges),
  );
}

function portMapCard(p: ParametersView, ports: PortUsage | null): HTMLElement {
  const used = ports === null ? null : ports.perBlock.map((b) => b.used);
  return card(
    "port-map",
    "Port map",
    h("p", { class: "hint" }, `${portsSummary(p)}; each row is 256 ports, hover a block for its flows.`),
    h("figure", { class: "map" }, portMap(p.portSets, used), h("figcaption", {}, mapLegend(used !== null))),
    p.rule.psidLength > 0 ? blockList(p.portSets, used) : null,
  );
}

function tunnelCard(status: StatusReport, tunnel: TunnelStatus | null): HTMLElement {
  const plan = status.plan;
  const state = tunnel === null ? "?" : !tunnel.exists ? "missing" : tunnel.up ? "up" : "down";
  const counter = (packets: number | null, bytes: number | null, rate: number | undefined) =>
    packets === null
      ? "unknown"
      : `${formatCount(packets)} packets, ${formatBytes(bytes ?? 0)}${rate === undefined ? "" : ` (${formatBytes(rate)}/s)`}`;
  return card(
    "tunnel",
    "Tunnel",
    rows([
      ["name", h("code", {}, tunnel?.name ?? plan?.tunnel.name ?? "?")],
      ["state", h("span", { class: state === "up" ? "ok" : "fail-text" }, state)],
      ["endpoints", plan === null ? "?" : h("code", {}, `${plan.tunnel.local} → ${plan.tunnel.remote}`)],
      ["MTU", plan === null ? "?" : String(plan.tunnel.mtu)],
      ["sent", counter(tunnel?.txPackets ?? null, tunnel?.txBytes ?? null, rates?.tx)],
      ["received", counter(tunnel?.rxPackets ?? null, tunnel?.rxBytes ?? null, rates?.rx)],
      ["applied", status.appliedAt ?? "?"],
    ]),
    status.drift.length === 0
      ? h("p", { class: "ok" }, "The host matches the plan.")
      : h(
          "div",
          { class: "drift" },
          h("p", { class: "warn-text" }, `The host differs from the plan; mapectl up would:`),
          h("ul", {}, ...status.drift.map((d) => h("li", {}, d))),
        ),
  );
}

function natCard(ports: PortUsage | null): HTMLElement {
  if (ports === null) {
    return card(
      "nat",
      "NAT",
      h("p", {}, "conntrack cannot be read (not installed, or serve is not running as root)."),
    );
  }
  const headroom = Object.entries(ports.headroom.perProtocol)
    .map(([protocol, h]) => `${protocol} ${formatCount(h.free)}`)
    .join(", ");
  const list = (items: readonly { key: string; flows: number }[], empty: string) =>
    items.length === 0
      ? h("p", { class: "hint" }, empty)
      : h(
          "ol",
          { class: "top" },
          ...items.map((i) =>
            h("li", {}, h("code", {}, i.key), h("span", { class: "n" }, formatCount(i.flows))),
          ),
        );
  return card(
    "nat",
    "NAT",
    rows([
      ["flows", `${formatCount(ports.total)} (${protocolList(ports.perProtocol)})`],
      ["free ports", `${formatCount(ports.headroom.free)} of ${formatCount(ports.portCount)} (${headroom})`],
      ["load", percent(load(ports.portCount - ports.headroom.free, ports.portCount))],
    ]),
    ports.outsideSet > 0
      ? h(
          "p",
          { class: "fail-text" },
          `${plural(ports.outsideSet, "flow")} ${ports.outsideSet === 1 ? "uses" : "use"} a port outside the port set: the BR drops them.`,
        )
      : null,
    h("h3", {}, "Busiest inside hosts"),
    list(
      ports.busiestHosts.map((b) => ({ key: b.address, flows: b.flows })),
      "no flows",
    ),
    h("h3", {}, "Busiest destinations"),
    list(
      ports.busiestDestinations.map((b) => ({ key: b.destination, flows: b.flows })),
      "no flows",
    ),
  );
}

const MARK = { ok: "✓", warn: "!", fail: "✗" } as const;

function findingItem(f: Finding): HTMLElement {
  return h(
    "li",
    { class: `finding ${f.verdict}`, "data-check": f.id },
    h("span", { class: "mark" }, MARK[f.verdict]),
    h("span", { class: "id" }, f.id),
    h("span", { class: "text" }, f.summary),
    f.fix.length === 0 ? null : h("pre", { class: "fix" }, f.fix.join("\n")),
  );
}

function doctorCard(doctor: DoctorView | null, now: number): HTMLElement {
  if (doctor === null) return card("doctor", "Doctor", h("p", { class: "hint" }, "running…"));
  if (doctor.error !== null) return card("doctor", "Doctor", h("p", { class: "fail-text" }, doctor.error));
  const problems = doctor.findings.filter((f) => f.verdict !== "ok");
  const passed = doctor.findings.filter((f) => f.verdict === "ok");
  return card(
    "doctor",
    "Doctor",
    h("p", { class: "hint" }, `checked ${ago(doctor.at, now)}`),
    problems.length === 0
      ? h("p", { class: "ok" }, "No problems found: the MAP-E configuration matches what this line needs.")
      : h("ul", { class: "findings" }, ...problems.map(findingItem)),
    passed.length === 0
      ? null
      : h("p", { class: "passed" }, `${MARK.ok} passed: ${passed.map((f) => f.id).join(", ")}`),
  );
}

function eventsCard(status: StatusReport): HTMLElement {
  const events = status.events.slice(-12).reverse();
  return card(
    "events",
    "Recent events",
    events.length === 0
      ? h("p", { class: "hint" }, "No events: the watch daemon has not logged anything yet.")
      : h(
          "ol",
          { class: "events" },
          ...events.map((e) =>
            h(
              "li",
              { class: `event ${e.level}` },
              h("time", { datetime: e.at }, e.at.replace("T", " ").replace(/\.\d+Z$/, "Z")),
              h("span", { class: "level" }, e.level),
              h("span", {}, e.message),
            ),
          ),
        ),
  );
}

/** The last data each section was built from; a section is rebuilt only when it changes. */
const built = new Map<string, string>();

function place(index: number, id: string, data: unknown, build: () => HTMLElement): void {
  const key = JSON.stringify(data);
  let element = document.getElementById(id);
  if (element === null || built.get(id) !== key) {
    const fresh = build();
    if (element === null) app.append(fresh);
    else element.replaceWith(fresh);
    element = fresh;
    built.set(id, key);
  }
  // moved only when out of place: moving a node would drop a selection inside it
  const at = app.children[index] ?? null;
  if (at !== element) app.insertBefore(element, at);
}

function render(api: ApiStatus): void {
  const now = Date.now();
  const status = api.status;
  if (status === null) {
    built.clear();
    app.replaceChildren(
      card("error", "Cannot read the host", h("p", { class: "fail-text" }, api.error ?? "unknown error")),
    );
    return;
  }
  const p = readParameters(status.parameters);
  updateRates(status.tunnel, now);
  if (!status.applied || p === null) {
    built.clear();
    app.replaceChildren(
      card(
        "not-applied",
        "MAP-E is not applied",
        h(
          "p",
          {},
          "MAP-E is not applied on this host: run ",
          h("code", {}, "mapectl up"),
          ". The ",
          h("a", { href: "/calc" }, "calculator"),
          " works without it.",
        ),
      ),
      doctorCard(api.doctor, now),
      eventsCard(status),
    );
    return;
  }
  const sections = ["summary", "port-map", "parameters", "nat", "tunnel", "doctor", "events"];
  for (const child of Array.from(app.children)) if (!sections.includes(child.id)) child.remove();
  const doctorVerdicts = api.doctor?.findings.map((f) => f.verdict);
  place(
    0,
    "summary",
    [status.inSync, status.drift, status.tunnel, status.ports?.headroom, p, doctorVerdicts],
    () => summaryCard(status, p, api.doctor),
  );
  // the map spans two rows, the parameters and NAT stack beside it
  place(1, "port-map", [p.portSets, status.ports?.perBlock], () => portMapCard(p, status.ports));
  place(2, "parameters", p, () => card("parameters", "Parameters", parametersList(p), warningList(p)));
  place(3, "nat", status.ports, () => natCard(status.ports));
  place(4, "tunnel", [status.tunnel, status.drift, rates, status.plan?.tunnel, status.appliedAt], () =>
    tunnelCard(status, status.tunnel),
  );
  // re-rendered every 10 s as well, for "checked … ago"
  place(5, "doctor", [api.doctor, Math.floor(now / 10_000)], () => doctorCard(api.doctor, now));
  place(6, "events", status.events, () => eventsCard(status));
}

function updateRates(tunnel: TunnelStatus | null, now: number): void {
  if (tunnel === null || tunnel.rxBytes === null || tunnel.txBytes === null) {
    previousCounters = null;
    rates = null;
    return;
  }
  const current = { at: now, rxBytes: tunnel.rxBytes, txBytes: tunnel.txBytes };
  const before = previousCounters;
  previousCounters = current;
  if (before === null || now - before.at < 500) return;
  const seconds = (now - before.at) / 1000;
  rates = {
    rx: Math.max(0, (current.rxBytes - before.rxBytes) / seconds),
    tx: Math.max(0, (current.txBytes - before.txBytes) / seconds),
  };
}

function setLive(ok: boolean, text: string): void {
  live.textContent = text;
  live.className = ok ? "live ok" : "live lost";
}

let timer: ReturnType<typeof setTimeout> | undefined;
let polling = false;

async function poll(): Promise<void> {
  if (polling) return;
  polling = true;
  clearTimeout(timer);
  try {
    const response = await fetch("/api/status", {
      cache: "no-store",
      headers: { accept: "application/json" },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const api = (await response.json()) as ApiStatus;
    render(api);
    setLive(true, `live · updated ${new Date().toLocaleTimeString()}`);
    document.body.dataset.loaded = "true";
  } catch (err) {
    setLive(
      false,
      `connection to mapectl serve lost (${err instanceof Error ? err.message : String(err)}); retrying`,
    );
  } finally {
    polling = false;
    if (!document.hidden) timer = setTimeout(() => void poll(), POLL_MS);
  }
}

// A hidden tab stops polling; coming back refreshes at once.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) void poll();
});
void poll();
