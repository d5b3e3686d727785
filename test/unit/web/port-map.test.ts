import assert from "node:assert/strict";
import { test } from "node:test";
import { loadColour, rangeRects, rowLabels } from "../../../src/web/port-map.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

function covered(first: number, last: number): number[] {
  const ports: number[] = [];
  for (const r of rangeRects(first, last)) {
    for (let y = r.y; y < r.y + r.height; y++)
      for (let x = r.x; x < r.x + r.width; x++) ports.push(y * 256 + x);
  }
  return ports.sort((a, b) => a - b);
}

test("a 16-port block of the user's line is one strip of one row", () => {
  assert.deepEqual(rangeRects(5136, 5151), [{ x: 16, y: 20, width: 16, height: 1 }]);
  // every block of PSID 65 sits at column 16 of row 4 of its 4096-port band
  const plan = planFor(USER_PREFIX);
  for (const [first, last] of plan.portSets) {
    const [rect] = rangeRects(first, last);
    assert.ok(rect !== undefined);
    assert.equal(rect.x, 16);
    assert.equal(rect.y % 16, 4);
  }
});

test("ranges across rows become at most three rectangles covering exactly their ports", () => {
  for (const [first, last] of [
    [0, 65535],
    [1024, 65535],
    [100, 300],
    [200, 1000],
    [256, 511],
    [4096, 8191],
    [255, 256],
    [65535, 65535],
  ] as const) {
    const rects = rangeRects(first, last);
    assert.ok(rects.length >= 1 && rects.length <= 3, `${first}-${last}`);
    const expected = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    assert.deepEqual(covered(first, last), expected, `${first}-${last}`);
  }
  assert.deepEqual(rangeRects(0, 65535), [{ x: 0, y: 0, width: 256, height: 256 }]);
});

test("impossible ranges draw nothing rather than something wrong", () => {
  assert.deepEqual(rangeRects(10, 5), []);
  assert.deepEqual(rangeRects(-1, 5), []);
  assert.deepEqual(rangeRects(0, 65536), []);
  assert.deepEqual(rangeRects(1.5, 3), []);
});

test("row labels mark every 4096 ports, colours go from idle through amber to red", () => {
  assert.deepEqual(
    rowLabels().map((l) => l.port),
    Array.from({ length: 16 }, (_, i) => i * 4096),
  );
  assert.equal(loadColour(null), "#1f9e89");
  assert.equal(loadColour(0), "#1f9e89");
  assert.equal(loadColour(0.0001), "#e3a21a");
  assert.equal(loadColour(1), "#c6292c");
  assert.equal(loadColour(7), "#c6292c");
});
