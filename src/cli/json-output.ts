/**
 * Every document `--json` prints, typed in one place: scripts depend on these fields, so a change
 * here is a change of mapectl's interface (see SCHEMA_VERSION). printJson takes only these.
 */
import type { StatusReport } from "../daemon/status-report.ts";
import type { BootTableChange } from "../host/boot-table.ts";
import type { Finding } from "../diagnose/findings.ts";
import type { SCHEMA_VERSION } from "../mape/schema-version.ts";
import type { Method, Plan } from "../plan/method.ts";
import type { AftrParameters } from "../provision/dslite.ts";
import type { CalcJson, ParametersJson } from "../provision/parameters.ts";
import type { ProvisionJson } from "../provision/provision.ts";
import type { ScenarioReport } from "../../lab/scenarios/scenario.ts";
import type { NoPortSetReport, PortsReport } from "./actions/ports.ts";

export type { StatusReport, ParametersJson, PortsReport, NoPortSetReport, ProvisionJson, ScenarioReport };

interface Versioned {
  readonly schemaVersion: typeof SCHEMA_VERSION;
}

/** One change up or down makes (or would make, with --dry-run). */
export interface ActionJson {
  readonly id: string;
  readonly summary: string;
  readonly argv: readonly string[];
  /** What the command reads on stdin (the nft script). */
  readonly input?: string;
}

/** `mapectl up --json`. */
export interface UpJson extends Versioned {
  readonly command: "up";
  /** The applied (or, with --dry-run, planned) plan's method. */
  readonly method: Method;
  readonly dryRun: boolean;
  readonly changed: boolean;
  readonly prefixFrom: string;
  readonly source: string;
  readonly actions: readonly ActionJson[];
  /** NAT entries whose translation no longer fits (old address, or old PSID's ports), removed. */
  readonly flushed: { readonly address: string; readonly flows: number | null } | null;
  readonly vyosDrift: readonly string[];
  readonly plan: Plan;
  readonly durationMs: number;
  /** VyOS owner mode: what happened to the table VyOS's boot hook loads. */
  readonly bootTable?: BootTableChange;
}

/** `mapectl down --json`. */
export interface DownJson extends Versioned {
  readonly command: "down";
  /** The removed plan's method; null when no state file recorded one. */
  readonly method: Method | null;
  readonly dryRun: boolean;
  readonly changed: boolean;
  readonly actions: readonly ActionJson[];
  /** No state file: what is provably mapectl's on the host, left in place. */
  readonly unrecorded?: readonly ActionJson[];
  /** VyOS owner mode: the boot hook's table, removed so a reboot does not load it again. */
  readonly bootTable?: BootTableChange;
}

/** `mapectl doctor --json`. */
export interface DoctorJson extends Versioned {
  /** The method doctor checked the host against. */
  readonly method: Method;
  readonly ok: boolean;
  readonly tunnel: string | null;
  readonly wan: string | null;
  /** Where the prefix the parameters were checked against came from; null when none was found. */
  readonly prefix: string | null;
  readonly vyos: boolean;
  readonly findings: readonly Finding[];
}

/** `mapectl render --json`. */
export interface RenderJson extends Versioned {
  /** The plan's method; null for a target that needs no plan (systemd-unit). */
  readonly method: Method | null;
  readonly target: string;
  readonly files: readonly { readonly path: string; readonly mode: string; readonly content: string }[];
  readonly warnings: readonly string[];
}

/** `mapectl install --json` and `mapectl uninstall --json`. */
export interface InstallJson extends Versioned {
  readonly command: "install" | "uninstall";
  readonly target: string;
  readonly root: string;
  readonly dryRun: boolean;
  readonly steps: readonly { readonly path: string; readonly action: string; readonly why?: string }[];
  readonly notes: readonly string[];
}

/** `mapectl lab list --json`. */
export interface LabScenariosJson extends Versioned {
  readonly scenarios: readonly { readonly name: string; readonly summary: string }[];
}

/** `mapectl provision --json`: the provision document and where the prefix came from. */
export interface ProvisionCliJson extends ProvisionJson {
  readonly prefixFrom: string;
  /** The method the line's sources name, in order (HB46PP's order, DHCPv6, the tables); null: none. */
  readonly method: Method | null;
  /** DS-Lite's AFTR as its source gave it (a name is not resolved here). */
  readonly aftr: AftrParameters | null;
}

export type JsonDocument =
  | CalcJson
  | ProvisionCliJson
  | UpJson
  | DownJson
  | StatusReport
  | DoctorJson
  | RenderJson
  | InstallJson
  | PortsReport
  | NoPortSetReport
  | LabScenariosJson
  | ScenarioReport;
