/** Views both pages show: the parameters and the port map, from the calc object. */
import type { ParametersView } from "../api.ts";
import { load, plural, portRange } from "../format.ts";
import { loadColour, PORTS_PER_ROW, rangeRects, ROWS, rowLabels } from "../port-map.ts";
import { h, s } from "./dom.ts";

const SOURCE_TEXT: Readonly<Record<string, string>> = {
  tables: "shipped rule table",
  manual: "manual rule",
  hb46pp: "HB46PP provisioning",
  dhcpv6: "DHCPv6 S46",
};

function field(name: string, label: string, ...value: (Node | string)[]): HTMLElement {
  return h("div", { class: "field", "data-field": name }, h("dt", {}, label), h("dd", {}, ...value));
}

function mono(text: string): HTMLElement {
  return h("code", {}, text);
}

export function blockSize(p: ParametersView): number {
  const first = p.portSets[0];
  return first === undefined ? 0 : first[1] - first[0] + 1;
}

export function portsSummary(p: ParametersView): string {
  if (p.rule.psidLength === 0) return `all ${p.portCount} (no port sharing)`;
  return `${p.portCount} in ${plural(p.portSets.length, "block")} of ${blockSize(p)}`;
}

/** The parameters as `calc` prints them, one field per row, each marked with data-field. */
export function parametersList(p: ParametersView): HTMLElement {
  const ipv4 =
    p.ipv4PrefixLength === 32
      ? mono(p.ipv4Address)
      : h("span", {}, mono(`${p.ipv4Address}/${p.ipv4PrefixLength}`), " (shared IPv4 prefix)");
  const source = SOURCE_TEXT[p.source] ?? p.source;
  const overridden = p.overridden.length > 0 ? `, overridden: ${p.overridden.join(", ")}` : "";
  return h(
    "dl",
    { class: "fields" },
    field("prefix", "Prefix", mono(p.prefix)),
    field("service", "Service", `${p.serviceName ?? "no known service"} (${source}${overridden})`),
    field("ipv4Address", "IPv4 address", ipv4),
    field("psid", "PSID", `${p.psid} (0x${p.psid.toString(16)})`),
    field("ceAddress", "CE address", mono(p.ceAddress), ` (${p.ceInterfaceId} interface ID)`),
    field("br", "BR", p.br === null ? "unknown: the rule has none" : mono(p.br)),
    field(
      "rule",
      "Rule",
      mono(`${p.rule.ipv6Prefix} → ${p.rule.ipv4Prefix}`),
      `, EA bits ${p.rule.eaBits}, PSID offset ${p.rule.psidOffset}, PSID length ${p.rule.psidLength}`,
    ),
    field("ports", "Ports", portsSummary(p)),
  );
}

export function warningList(p: ParametersView): HTMLElement | null {
  if (p.warnings.length === 0) return null;
  return h("ul", { class: "warnings" }, ...p.warnings.map((w) => h("li", {}, `warning: ${w}`)));
}

/** Flows per block when known (the status page), null for the calculator. */
export type BlockUse = readonly number[] | null;

function blockTitle(first: number, last: number, used: number | undefined): string {
  const ports = plural(last - first + 1, "port");
  return used === undefined
    ? `${portRange(first, last)} (${ports})`
    : `${portRange(first, last)}: ${plural(used, "flow")} on ${ports}`;
}

/**
 * The 65536 ports as a 256 × 256 grid (see port-map.ts), the line's blocks coloured by how busy
 * each is. Every block is a <g class="block"> with data-first and data-last, for tests and tools.
 */
export function portMap(sets: readonly (readonly [number, number])[], used: BlockUse): SVGSVGElement {
  // 28 units of labels + 256 ports + 1: at 2 px a unit (570 px) every row and block is drawn alike
  const margin = 28;
  const map = s("svg", {
    class: "port-map",
    viewBox: `${-margin} -1 ${PORTS_PER_ROW + margin + 1} ${ROWS + 2}`,
    role: "img",
    "aria-label": `Port map: ${plural(sets.length, "block")} of the 65536 ports belong to this line`,
    "shape-rendering": "crispEdges",
  });
  map.append(s("rect", { class: "map-bg", x: 0, y: 0, width: PORTS_PER_ROW, height: ROWS }));
  const bands = rowLabels()
    .filter(({ row }) => row > 0)
    .map(({ row }) => `M0 ${row}H${PORTS_PER_ROW}`)
    .join("");
  map.append(s("path", { class: "map-band", d: bands }));
  for (const { row, port } of rowLabels()) {
    map.append(s("text", { class: "map-label", x: -3, y: row + 5.5, "text-anchor": "end" }, port));
  }
  sets.forEach(([first, last], index) => {
    const flows = used?.[index];
    const size = last - first + 1;
    const colour = loadColour(flows === undefined ? null : load(flows, size));
    // the stroke in the fill's colour makes a 16-port block, one row high, visible at a glance
    const group = s(
      "g",
      {
        class: "block",
        "data-first": first,
        "data-last": last,
        "data-used": flows,
        fill: colour,
        stroke: colour,
      },
      s("title", {}, blockTitle(first, last, flows)),
    );
    for (const r of rangeRects(first, last)) {
      group.append(s("rect", { x: r.x, y: r.y, width: r.width, height: r.height }));
    }
    map.append(group);
  });
  return map;
}

export function mapLegend(withUse: boolean): HTMLElement {
  const item = (cls: string, label: string) => h("li", {}, h("span", { class: `swatch ${cls}` }), label);
  const items = [item("swatch-other", "other lines' ports"), item("swatch-idle", "this line's ports")];
  if (withUse) items.push(item("swatch-busy", "in use"), item("swatch-full", "full"));
  return h("ul", { class: "legend" }, ...items);
}

/** The blocks as text, like the grid `calc` prints, each with its flow count when known. */
export function blockList(sets: readonly (readonly [number, number])[], used: BlockUse): HTMLElement {
  return h(
    "ol",
    { class: "blocks" },
    ...sets.map(([first, last], index) => {
      const flows = used?.[index];
      return h(
        "li",
        { title: blockTitle(first, last, flows) },
        h("span", { class: "range" }, portRange(first, last)),
        flows === undefined ? null : h("span", { class: flows > 0 ? "use busy" : "use" }, flows),
      );
    }),
  );
}
