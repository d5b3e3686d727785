/**
 * /calc: the calculator, entirely in the browser. The same core as `mapectl calc` (rule tables,
 * resolveParameters, calcJson) is bundled into the page, so it answers with no server and
 * no network once loaded, for any prefix typed in or a manual rule.
 */
import { isMapeError } from "../../mape/errors.ts";
import type { InterfaceIdLayout } from "../../mape/interface-id.ts";
import { parseIpv6Prefix } from "../../mape/ipv6.ts";
import type { MapRuleSpec } from "../../mape/rule.ts";
import { calcJson, type CalcJson, resolveParameters } from "../../provision/parameters.ts";
import { shippedNotMape, shippedRuleTable } from "../../rules/shipped.ts";
import { h, byId } from "./dom.ts";
import { blockList, mapLegend, parametersList, portMap, warningList } from "./views.ts";

const form = byId("calc-form", HTMLFormElement);
const prefixInput = byId("prefix", HTMLInputElement);
const iidSelect = byId("iid", HTMLSelectElement);
const brInput = byId("br-override", HTMLInputElement);
const useManual = byId("use-manual", HTMLInputElement);
const result = byId("result", HTMLElement);
const errorLine = byId("calc-error", HTMLElement);

class InputError extends Error {}

function value(id: string): string {
  return byId(id, HTMLInputElement).value.trim();
}

function wholeNumber(id: string, key: string, required: boolean): number | undefined {
  const text = value(id);
  if (text === "") {
    if (required) throw new InputError(`manual rule: ${key} is missing`);
    return undefined;
  }
  if (!/^[0-9]{1,5}$/.test(text)) throw new InputError(`manual rule: ${key}=${text} is not a whole number`);
  return Number(text);
}

function manualRule(): MapRuleSpec | undefined {
  if (!useManual.checked) return undefined;
  const ipv6Prefix = value("rule-ipv6-prefix");
  const ipv4Prefix = value("rule-ipv4-prefix");
  if (ipv6Prefix === "") throw new InputError("manual rule: ipv6-prefix is missing");
  if (ipv4Prefix === "") throw new InputError("manual rule: ipv4-prefix is missing");
  const br = value("rule-br");
  return {
    ipv6Prefix,
    ipv4Prefix,
    eaBits: wholeNumber("rule-ea-bits", "ea-bits", true) ?? 0,
    psidOffset: wholeNumber("rule-psid-offset", "psid-offset", true) ?? 0,
    psidLength: wholeNumber("rule-psid-length", "psid-length", false),
    psid: wholeNumber("rule-psid", "psid", false),
    br: br === "" ? undefined : br,
  };
}

function layout(): InterfaceIdLayout | undefined {
  const v = iidSelect.value;
  return v === "draft-03" || v === "rfc7597" ? v : undefined;
}

function showError(message: string): void {
  errorLine.textContent = message;
  errorLine.hidden = false;
  result.replaceChildren();
  result.hidden = true;
}

function compute(): void {
  const text = prefixInput.value.trim();
  if (text === "") {
    errorLine.hidden = true;
    result.replaceChildren();
    result.hidden = true;
    return;
  }
  let calc: CalcJson;
  try {
    const br = brInput.value.trim();
    const resolved = resolveParameters({
      prefix: parseIpv6Prefix(text),
      table: shippedRuleTable(),
      notMape: shippedNotMape(),
      manualRule: manualRule(),
      overrides: br === "" ? undefined : { br },
      interfaceId: layout(),
    });
    calc = calcJson(resolved);
  } catch (err) {
    if (isMapeError(err) || err instanceof InputError) showError(err.message);
    else showError(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const p = calc;
  errorLine.hidden = true;
  result.hidden = false;
  const parts: (Node | null)[] = [
    h("h2", {}, h("code", {}, p.prefix), `: ${p.serviceName ?? "no known service"}`),
    h(
      "div",
      { class: "result-grid" },
      h("div", {}, parametersList(p), warningList(p)),
      h("figure", { class: "map" }, portMap(p.portSets, null), h("figcaption", {}, mapLegend(false))),
    ),
    p.rule.psidLength > 0 ? blockList(p.portSets, null) : null,
    h(
      "details",
      { class: "json" },
      h("summary", {}, "As JSON (what mapectl calc --json prints)"),
      h("pre", {}, JSON.stringify(calc, null, 2)),
    ),
  ];
  result.replaceChildren(...parts.filter((part) => part !== null));
  history.replaceState(null, "", `#${encodeURIComponent(text)}`);
}

let pending: ReturnType<typeof setTimeout> | undefined;
function computeSoon(): void {
  clearTimeout(pending);
  pending = setTimeout(compute, 150);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(pending);
  compute();
});
form.addEventListener("input", computeSoon);
form.addEventListener("change", computeSoon);

if (location.hash.length > 1) {
  try {
    prefixInput.value = decodeURIComponent(location.hash.slice(1));
  } catch {
    // a hash that is not percent-encoding is not a prefix either; start empty
  }
}
compute();
