import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { MapectlError } from "../mape/errors.ts";
import type { IpipPlan } from "../plan/ipip-plan.ts";
import type { Settings } from "../plan/settings.ts";
import type { UpdateRecord, UpdateVerdict } from "../provision/ipip-update.ts";
import { oneLine } from "../text/one-line.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { ipipAccount } from "./ipip-credentials.ts";
import { callUpdateUrl, type UpdateCall } from "./ipip-update.ts";
import { stateDir } from "./state-store.ts";

/** The last call of the update URL (no account in it), beside state.json. */
export function updateRecordPath(): string {
  return join(stateDir(), "ipip-update.json");
}

export function loadUpdateRecord(): UpdateRecord | null {
  try {
    const doc = JSON.parse(readFileSync(updateRecordPath(), "utf8")) as Record<string, unknown>;
    const kind = ["registered", "refused", "failed"].find((k) => k === doc.kind) as
      UpdateRecord["kind"] | undefined;
    if (typeof doc.at !== "string" || kind === undefined) return null;
    if (typeof doc.ceAddress !== "string" || typeof doc.prefix !== "string") return null;
    return {
      at: doc.at,
      kind,
      detail: typeof doc.detail === "string" ? doc.detail : "",
      ceAddress: doc.ceAddress,
      prefix: doc.prefix,
    };
  } catch {
    // none yet, or damaged: then the update URL is simply called again
    return null;
  }
}

/** down: the path is gone, so the next up registers the CE again whatever the interval says. */
export function clearUpdateRecord(): void {
  rmSync(updateRecordPath(), { force: true });
}

function saveUpdateRecord(record: UpdateRecord): void {
  mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
  writeFileAtomic(updateRecordPath(), `${JSON.stringify(record, null, 2)}\n`, 0o644);
}

/** The provider refused the account: nothing on the host was changed, and the path stays down. */
export class UpdateRefused extends MapectlError {
  constructor(message: string) {
    super("config", oneLine(message));
    this.name = "UpdateRefused";
  }
}

export interface Registration {
  /** What this call said, or null when no call was due. */
  readonly verdict: UpdateVerdict | null;
  readonly record: UpdateRecord | null;
  /** A call failed but the provider still has this CE from before: said, not fatal. */
  readonly warning: string | null;
}

/** Registered for this CE and prefix less than the interval ago: nothing to do. */
function stillRegistered(last: UpdateRecord | null, plan: IpipPlan, prefix: string, now: number): boolean {
  if (last?.kind !== "registered" || last.ceAddress !== plan.ceAddress || last.prefix !== prefix)
    return false;
  const interval = (plan.update?.intervalSeconds ?? 0) * 1000;
  return now - Date.parse(last.at) < interval;
}

/**
 * Tells the provider this line's CE address before anything on the host changes: when the prefix
 * changed, when the last call did not succeed, and at the provider's interval. A refused account
 * is an error (UpdateRefused, exit 4: the configuration's account is wrong) and the host is left as
 * it was; a failed call is an error unless the provider already has this CE address. Every verdict
 * is recorded for doctor, without the account.
 */
export async function registerIpip(
  plan: IpipPlan,
  prefix: string,
  settings: Settings,
  options: {
    readonly dryRun: boolean;
    readonly now?: number;
    /** The call itself; tests replace it. */
    readonly call?: (call: UpdateCall) => Promise<UpdateVerdict>;
  },
): Promise<Registration> {
  const last = loadUpdateRecord();
  const now = options.now ?? Date.now();
  if (plan.update === null || options.dryRun || stillRegistered(last, plan, prefix, now)) {
    return { verdict: null, record: last, warning: null };
  }
  const verdict = await (options.call ?? callUpdateUrl)({ plan, prefix, account: ipipAccount(settings) });
  const record: UpdateRecord = {
    at: new Date(now).toISOString(),
    kind: verdict.kind,
    detail: verdict.detail,
    ceAddress: plan.ceAddress,
    prefix,
  };
  saveUpdateRecord(record);
  if (verdict.kind === "refused") {
    throw new UpdateRefused(
      `the provider's update server refused the account (${verdict.detail}): the BR will not carry ${plan.ipv4Address} to this router, so nothing was changed; correct user and password under [ipip] in the configuration (or its credentials-file) and run mapectl up again`,
    );
  }
  if (verdict.kind === "failed") {
    const known = last?.kind === "registered" && last.ceAddress === plan.ceAddress;
    if (!known) {
      throw new MapectlError(
        "failure",
        oneLine(
          `the provider's update URL could not register CE ${plan.ceAddress} (${verdict.detail}): without it the BR drops this router's packets; nothing was changed`,
        ),
      );
    }
    return {
      verdict,
      record,
      warning: `the update URL failed (${verdict.detail}); the provider still has this CE from ${last.at}`,
    };
  }
  return { verdict, record, warning: null };
}
