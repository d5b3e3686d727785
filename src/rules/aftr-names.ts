import { MapeError } from "../mape/errors.ts";
import { hostNameProblem } from "../text/host-name.ts";

/** Service name (as in not-mape.json) → the AFTR's host name. */
export type AftrNameTable = ReadonlyMap<string, string>;

function fail(where: string, why: string): MapeError {
  return new MapeError("INVALID_RULE_TABLE", `aftr-names.json: ${where}: ${why}`);
}

export function parseAftrNames(doc: unknown): AftrNameTable {
  if (typeof doc !== "object" || doc === null || !("services" in doc))
    throw fail("top level", "expected services");
  const services = doc.services;
  if (typeof services !== "object" || services === null || Array.isArray(services))
    throw fail("services", "expected an object");
  const out = new Map<string, string>();
  for (const [service, name] of Object.entries(services)) {
    if (typeof name !== "string") throw fail(`services.${service}`, "expected a host name");
    const problem = hostNameProblem(name);
    if (problem !== null) throw fail(`services.${service}`, problem);
    out.set(service, name.toLowerCase());
  }
  return out;
}
