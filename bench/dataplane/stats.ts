// The few statistics the dataplane bench reports.

/** The middle value (the upper one of the two middle values when there is an even number). */
export function medianOf(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

/** Largest minus smallest, as a percentage of the median. */
export function spreadPercent(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = medianOf(sorted) || 1;
  return Number(((100 * ((sorted.at(-1) ?? 0) - (sorted[0] ?? 0))) / mid).toFixed(2));
}
