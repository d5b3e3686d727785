import { MapeError } from "../mape/errors.ts";
import { readTextFile } from "../host/files.ts";
import { shippedRuleTable } from "../rules/shipped.ts";
import { mergeTables, parseRuleTable, type RuleTable } from "../rules/table.ts";

/** The shipped table plus the user's files, theirs first so they win equal matches. */
export function loadRuleTables(files: readonly string[]): RuleTable {
  let table = shippedRuleTable();
  for (const file of [...files].reverse()) {
    const text = readTextFile(file, "rules file");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new MapeError("INVALID_RULE_TABLE", `${file}: not valid JSON: ${(err as Error).message}`);
    }
    table = mergeTables(parseRuleTable(doc, file, table.services), table);
  }
  return table;
}
