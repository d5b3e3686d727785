import rulesDoc from "./data/mape-rules.json" with { type: "json" };
import notMapeDoc from "./data/not-mape.json" with { type: "json" };
import aftrNamesDoc from "./data/aftr-names.json" with { type: "json" };
import { parseAftrNames, type AftrNameTable } from "./aftr-names.ts";
import {
  parseNotMapeTable,
  parseRuleTable,
  SHIPPED_ORIGIN,
  type NotMapePrefix,
  type RuleTable,
} from "./table.ts";

let table: RuleTable | undefined;
let notMape: NotMapePrefix[] | undefined;
let aftrNames: AftrNameTable | undefined;

/** The tables shipped with mapectl, parsed and validated once on first use. */
export function shippedRuleTable(): RuleTable {
  table ??= parseRuleTable(rulesDoc, SHIPPED_ORIGIN, undefined, { lazy: true });
  return table;
}

export function shippedNotMape(): NotMapePrefix[] {
  notMape ??= parseNotMapeTable(notMapeDoc);
  return notMape;
}

/** The known AFTR names per DS-Lite service (data/aftr-names.json). */
export function shippedAftrNames(): AftrNameTable {
  aftrNames ??= parseAftrNames(aftrNamesDoc);
  return aftrNames;
}
