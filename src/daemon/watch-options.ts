/** How the daemon paces itself; `mapectl watch` sets some from its flags. */
export interface WatchOptions {
  /** Quiet time after the last netlink event before re-reading the host. */
  readonly debounceMs: number;
  /** Re-check even without events (self-healing, and a WAN that came back without events). */
  readonly periodicMs: number;
  readonly portCheckMs: number;
  /** Share of the port set in use towards one destination that makes the daemon warn. */
  readonly portWarnRatio: number;
  readonly nodad: boolean;
  /** Upper bound for waiting after the network disabled MAP-E (the spec says 1–3 h). */
  readonly disabledRetryMaxSeconds: number;
}

export const DEFAULT_WATCH: WatchOptions = {
  debounceMs: 150,
  periodicMs: 60_000,
  portCheckMs: 30_000,
  portWarnRatio: 0.8,
  // a second CE on the line is refused by the daemon as by up (README)
  nodad: false,
  disabledRetryMaxSeconds: 3 * 3600,
};
