/**
 * Geometry of the 16-bit port map: the 65536 ports as a 256 × 256 grid, port p at column p mod 256
 * of row p div 256. With 256 ports to a row, every PSID-offset band (4096 ports when a = 4) is 16
 * rows high and a CE's blocks line up in a column, so the structure of RFC 7597 §5.1 shows.
 */

export const PORTS_PER_ROW = 256;
export const ROWS = 65536 / PORTS_PER_ROW;

export interface MapRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The rectangles that cover ports first..last: a partial first row, whole rows, a partial last row. */
export function rangeRects(first: number, last: number): MapRect[] {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 65535 || last < first) {
    return [];
  }
  const rects: MapRect[] = [];
  const firstRow = Math.floor(first / PORTS_PER_ROW);
  const lastRow = Math.floor(last / PORTS_PER_ROW);
  const firstCol = first % PORTS_PER_ROW;
  const lastCol = last % PORTS_PER_ROW;
  if (firstRow === lastRow) return [{ x: firstCol, y: firstRow, width: lastCol - firstCol + 1, height: 1 }];
  let top = firstRow;
  if (firstCol > 0) {
    rects.push({ x: firstCol, y: firstRow, width: PORTS_PER_ROW - firstCol, height: 1 });
    top++;
  }
  const bottom = lastCol === PORTS_PER_ROW - 1 ? lastRow : lastRow - 1;
  if (bottom >= top) rects.push({ x: 0, y: top, width: PORTS_PER_ROW, height: bottom - top + 1 });
  if (lastCol < PORTS_PER_ROW - 1) rects.push({ x: 0, y: lastRow, width: lastCol + 1, height: 1 });
  return rects;
}

/** Row labels every `step` rows: the first port of the row. */
export function rowLabels(step = 16): { row: number; port: number }[] {
  const labels: { row: number; port: number }[] = [];
  for (let row = 0; row < ROWS; row += step) labels.push({ row, port: row * PORTS_PER_ROW });
  return labels;
}

/**
 * The fill of a block: teal when idle, through amber to red as it fills; null usage (no conntrack,
 * or the calculator) keeps the idle colour. Colours chosen to stay apart for red-green blindness.
 */
export function loadColour(fraction: number | null): string {
  if (fraction === null || fraction <= 0) return "#1f9e89";
  const f = Math.min(fraction, 1);
  // amber (#e3a21a) at the first flow to red (#c6292c) at a full block
  const mix = (a: number, b: number) => Math.round(a + (b - a) * f);
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  return `#${hex(mix(0xe3, 0xc6))}${hex(mix(0xa2, 0x29))}${hex(mix(0x1a, 0x2c))}`;
}
