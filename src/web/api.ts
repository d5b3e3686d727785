/**
 * What the page reads from `/api/status` and how it reads the calc object (`parametersJson`).
 * Types only from the Node side, so the browser bundle carries none of its code.
 */
import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import type { StatusReport } from "../daemon/status-report.ts";
import type { Finding } from "../diagnose/findings.ts";

/** doctor's verdicts as the page shows them; refreshed less often than the status (doctor is slower). */
export interface DoctorView {
  readonly at: string;
  /** True when no check fails; null when doctor could not run (error says why). */
  readonly ok: boolean | null;
  readonly findings: readonly Finding[];
  readonly error: string | null;
}

/** `/api/status` (schemaVersion 1). */
export interface ApiStatus {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly at: string;
  /** null when the host could not be read; error says why. */
  readonly status: StatusReport | null;
  readonly error: string | null;
  readonly doctor: DoctorView | null;
}

/** The fields of the calc object that the pages show. */
export interface ParametersView {
  readonly prefix: string;
  readonly serviceName: string | null;
  readonly rule: {
    readonly ipv6Prefix: string;
    readonly ipv4Prefix: string;
    readonly eaBits: number;
    readonly psidOffset: number;
    readonly psidLength: number;
  };
  readonly ipv4Address: string;
  readonly ipv4PrefixLength: number;
  readonly psid: number;
  readonly ceAddress: string;
  readonly ceInterfaceId: string;
  readonly br: string | null;
  readonly portSets: readonly (readonly [number, number])[];
  readonly portCount: number;
  readonly source: string;
  readonly overridden: readonly string[];
  readonly warnings: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * The calc object checked field by field: a state file written by an older or newer mapectl must
 * give a page with gaps, not a page that throws. Null when the essentials are missing.
 */
export function readParameters(value: unknown): ParametersView | null {
  if (!isRecord(value) || !isRecord(value.rule)) return null;
  const r = value.rule;
  const prefix = text(value.prefix);
  const ipv4Address = text(value.ipv4Address);
  const ceAddress = text(value.ceAddress);
  const psid = num(value.psid);
  const rule = {
    ipv6Prefix: text(r.ipv6Prefix),
    ipv4Prefix: text(r.ipv4Prefix),
    eaBits: num(r.eaBits),
    psidOffset: num(r.psidOffset),
    psidLength: num(r.psidLength),
  };
  if (
    prefix === null ||
    ipv4Address === null ||
    ceAddress === null ||
    psid === null ||
    rule.ipv6Prefix === null ||
    rule.ipv4Prefix === null ||
    rule.eaBits === null ||
    rule.psidOffset === null ||
    rule.psidLength === null
  ) {
    return null;
  }
  const portSets = Array.isArray(value.portSets)
    ? value.portSets.flatMap((set: unknown): (readonly [number, number])[] => {
        if (!Array.isArray(set)) return [];
        const first = num(set[0]);
        const last = num(set[1]);
        return first === null || last === null ? [] : [[first, last] as const];
      })
    : [];
  return {
    prefix,
    serviceName: text(value.serviceName),
    rule: {
      ipv6Prefix: rule.ipv6Prefix,
      ipv4Prefix: rule.ipv4Prefix,
      eaBits: rule.eaBits,
      psidOffset: rule.psidOffset,
      psidLength: rule.psidLength,
    },
    ipv4Address,
    ipv4PrefixLength: num(value.ipv4PrefixLength) ?? 32,
    psid,
    ceAddress,
    ceInterfaceId: text(value.ceInterfaceId) ?? "draft-03",
    br: text(value.br),
    portSets,
    portCount: num(value.portCount) ?? portSets.reduce((sum, [a, b]) => sum + b - a + 1, 0),
    source: text(value.source) ?? "tables",
    overridden: strings(value.overridden),
    warnings: strings(value.warnings),
  };
}
