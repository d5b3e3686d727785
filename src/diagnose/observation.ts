import type { HostState } from "../plan/observed.ts";
import type { ResolvedParameters } from "../provision/parameters.ts";
import type { RuleTable } from "../rules/table.ts";

export interface Neighbour {
  readonly address: string;
  readonly dev: string;
  readonly state: readonly string[];
  /** The neighbour said it is a router (NA with the R flag): a candidate next hop to the BR. */
  readonly router?: boolean;
}

/** A line that is not MAP-E: what it is instead, from the shipped not-MAP-E table. */
export interface OtherLine {
  readonly kind: "ds-lite" | "ntt-native";
  readonly service: string;
  readonly aftr: string | null;
  /** The line's prefix, to pick the B4 address from. */
  readonly prefix: string;
}

/** The NAPT table file a boot hook loads (VyOS's postconfig script), and its content (null: missing). */
export interface BootTable {
  readonly path: string;
  readonly text: string | null;
}

export interface RouteLookup {
  readonly gateway: string | null;
  readonly dev: string | null;
}

/** Everything doctor looked at on the host; pure data, so every check is a unit-testable function. */
export interface DoctorInput {
  readonly host: HostState;
  readonly ruleset: unknown;
  readonly neighbours: readonly Neighbour[];
  /** `ip -6 route get <tunnel remote>`, null when there is no route at all. */
  readonly brRoute: RouteLookup | null;
  readonly wan: string | null;
  /** What the line's prefix says the parameters are, or why there are none. */
  readonly expected:
    | { readonly resolved: ResolvedParameters; readonly prefixFrom: string }
    | { readonly error: string; readonly notMape: boolean; readonly line?: OtherLine | null }
    | null;
  readonly table: RuleTable;
  readonly vyos: boolean;
  /** The tunnel mapectl made, if any, to prefer when several exist. */
  readonly preferredTunnel: string | null;
  /**
   * The command that re-applies mapectl's own configuration (`mapectl up --wan …`) when mapectl made
   * this router, else null: then fixes are plain ip/nft lines.
   */
  readonly reapply?: string | null;
  /** The WAN's router as mapectl recorded it when it applied the plan (state file), if any. */
  readonly knownGateway?: string | null;
  /** The table file mapectl's boot hook loads, when a hook is installed (VyOS); else null. */
  readonly bootTable?: BootTable | null;
}
