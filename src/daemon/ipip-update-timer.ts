import { isIpipPlan } from "../plan/method.ts";
import type { UpdateRecord } from "../provision/ipip-update.ts";
import type { ConvergeResult } from "./converge.ts";

/**
 * After a failed call of the update URL that the provider can live with (it still has this CE),
 * the next try: soon, but not sooner than the provider's own interval.
 */
export const UPDATE_RETRY_MS = 60_000;

/**
 * When the daemon must converge again so that converge's registerIpip calls the provider's update
 * URL: the provider's interval after the last registration, or UPDATE_RETRY_MS after a failed
 * call. null: no IPIP plan, no update URL, or no call yet (converge makes the first one).
 */
export function nextUpdateAt(result: Pick<ConvergeResult, "plan" | "update">): number | null {
  const plan = result.plan;
  const last = result.update ?? null;
  if (!isIpipPlan(plan) || plan.update === null || last === null) return null;
  const intervalMs = plan.update.intervalSeconds * 1000;
  const at = Date.parse(last.at);
  if (Number.isNaN(at)) return null;
  return at + (last.kind === "registered" ? intervalMs : Math.min(UPDATE_RETRY_MS, intervalMs));
}

/**
 * The daemon's line for a call of the update URL it has not reported yet, after the round's reason
 * (details carry no account: callUpdateUrl scrubs them).
 */
export function updateLogLine(reason: string, record: UpdateRecord, next: number | null): string {
  const when = next === null ? "" : `; next call in ${Math.max(0, Math.round((next - Date.now()) / 1000))} s`;
  const what =
    record.kind === "registered"
      ? `registered CE ${record.ceAddress} for ${record.prefix}`
      : `${record.kind} for CE ${record.ceAddress}: ${record.detail}`;
  return `${reason}: IPIP update URL: ${what}${when}`;
}

/**
 * Without it the provider's interval would pass unnoticed while nothing else made the daemon
 * converge (no netlink event, a long periodic check): the BR forgets the CE and the fixed address
 * stops. It wakes the daemon when the next call is due; converge itself makes the call (with its
 * 10 s deadline), records it and throws on a refusal, which the daemon logs and retries as any
 * failed round. The log says each call once, from the record (the account never reaches it).
 */
export class IpipUpdateTimer {
  private timer: NodeJS.Timeout | null = null;
  private reported: string | null = null;
  private readonly wake: (reason: string) => void;
  private readonly log: (level: "info" | "warning", message: string) => void;

  constructor(wake: (reason: string) => void, log: (level: "info" | "warning", message: string) => void) {
    this.wake = wake;
    this.log = log;
  }

  /** After every converge (`reason`: the round's): report a new call, and set the timer for the next one. */
  follow(result: Pick<ConvergeResult, "plan" | "update">, reason: string): void {
    this.stop();
    const next = nextUpdateAt(result);
    const record = result.update ?? null;
    if (next === null || record === null) return;
    if (record.at !== this.reported) {
      this.reported = record.at;
      this.log(record.kind === "registered" ? "info" : "warning", updateLogLine(reason, record, next));
    }
    // setTimeout's limit is about 24.8 days, far above the longest interval (a day)
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.wake("IPIP update due");
      },
      Math.max(0, next - Date.now()) + 50,
    );
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
