import type { InterfaceIdLayout } from "../mape/interface-id.ts";
import type { MapRuleSpec } from "../mape/rule.ts";
import type { PortForward } from "./plan.ts";

/** Everything `up` needs besides the host: the merge of the config file and the command line. */
export interface Settings {
  wan: string | null;
  lan: string[];
  prefix: string | null;
  source: "tables" | "manual";
  rule: MapRuleSpec | null;
  rulesFiles: string[];
  overrides: Partial<MapRuleSpec>;
  interfaceId: InterfaceIdLayout | null;
  tunnelName: string;
  mtu: number;
  gateway: string | null;
  defaultRouteMetric: number;
  replaceDefault: boolean;
  forwards: PortForward[];
}

export const DEFAULT_SETTINGS: Settings = {
  wan: null,
  lan: [],
  prefix: null,
  source: "tables",
  rule: null,
  rulesFiles: [],
  overrides: {},
  interfaceId: null,
  tunnelName: "mape",
  mtu: 1460,
  gateway: null,
  defaultRouteMetric: 10,
  replaceDefault: false,
  forwards: [],
};
