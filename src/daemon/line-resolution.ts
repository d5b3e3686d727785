import type { Ipv6Prefix } from "../mape/ipv6.ts";
import { methodWithoutNetwork } from "../plan/desired-dslite.ts";
import type { Settings } from "../plan/settings.ts";
import { aftrWithoutNetwork, DsLiteError, type AftrParameters } from "../provision/dslite.ts";
import type { LineMethod } from "../provision/line-method.ts";
import type { ProvisionResult } from "../provision/provision.ts";
import { shippedAftrNames, shippedNotMape } from "../rules/shipped.ts";
import type { RuleTable } from "../rules/table.ts";

/**
 * Which method a line gets, beside MAP-E's parameters: the resolver's part that knows DS-Lite.
 * MAP-E alone (the default `--method map-e`) never comes here, so it resolves exactly as before.
 */

/** DS-Lite's AFTR, with how long the source said it holds. */
export interface DsLiteAnswer {
  readonly aftr: AftrParameters;
  readonly ttlSeconds: number | null;
}

function tables(table: RuleTable) {
  return { table, notMape: shippedNotMape(), aftrNames: shippedAftrNames() };
}

/**
 * The AFTR without asking the network, when the settings already decide: an AFTR the user gave
 * (ds-lite or auto), or, with only the tables to ask, what methodWithoutNetwork says. null: MAP-E
 * (or the network must be asked).
 */
export function dsLiteWithoutNetwork(
  settings: Settings,
  prefix: Ipv6Prefix,
  table: RuleTable,
  networkAsked: boolean,
): DsLiteAnswer | null {
  if (settings.method === "map-e") return null;
  if (settings.aftr !== null) {
    return { aftr: aftrWithoutNetwork(settings.aftr, prefix, [], new Map()), ttlSeconds: null };
  }
  if (networkAsked) return null;
  let decision: ReturnType<typeof methodWithoutNetwork>;
  try {
    decision = methodWithoutNetwork(settings, prefix, tables(table));
  } catch (err) {
    if (!(err instanceof DsLiteError)) throw err;
    // the error lists every source of an AFTR; say which of them this run did not ask
    throw new DsLiteError(
      `${err.message} (--source ${settings.source} asks only the shipped table: --source auto asks HB46PP and DHCPv6 first)`,
    );
  }
  return decision.method === "ds-lite" ? { aftr: decision.aftr, ttlSeconds: null } : null;
}

/**
 * After the network was asked: DS-Lite when the line's first source that names a method names it
 * (`line`: HB46PP's order, DHCPv6 option 64, the tables' service), for ds-lite and auto. ds-lite on
 * a line whose sources name no AFTR is an error saying where one would come from. null: MAP-E (or
 * IPIP, resolved before), as before.
 */
export function dsLiteFromSources(
  settings: Settings,
  result: ProvisionResult,
  line: LineMethod,
): DsLiteAnswer | null {
  if (settings.method === "map-e") return null;
  if (line.method === "ds-lite") {
    const report = result.sources.find((s) => s.source === line.from);
    return { aftr: line.aftr, ttlSeconds: report?.ttl ?? null };
  }
  if (settings.method === "ds-lite") {
    // the line's sources name another method (or none): the tables' AFTR, else why there is none
    const aftr = aftrWithoutNetwork(null, result.prefix, shippedNotMape(), shippedAftrNames());
    return { aftr, ttlSeconds: null };
  }
  // an IPIP line never gets here: ipipFromSources, asked first, plans it (auto, ipip) or says why not
  return null;
}
