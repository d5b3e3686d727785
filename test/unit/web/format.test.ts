import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ago,
  bar,
  formatBytes,
  formatCount,
  load,
  percent,
  plural,
  portRange,
  protocolList,
} from "../../../src/web/format.ts";

test("port ranges, plurals and counts read the same in the terminal and the page", () => {
  assert.equal(portRange(5136, 5151), "5136–5151");
  assert.equal(portRange(80, 80), "80");
  assert.equal(plural(1, "block"), "1 block");
  assert.equal(plural(15, "block"), "15 blocks");
  assert.equal(plural(0, "flow"), "0 flows");
  assert.equal(formatCount(240), "240");
  assert.equal(formatCount(65536), "65\u2009536");
  assert.equal(formatCount(1234567), "1\u2009234\u2009567");
});

test("bytes are shown in binary units with one decimal below 100", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(150 * 1024 * 1024), "150 MiB");
  assert.equal(formatBytes(3 * 1024 ** 4), "3.0 TiB");
});

test("load is capped at 1 and a sliver of use never reads as 0%", () => {
  assert.equal(load(8, 16), 0.5);
  assert.equal(load(40, 16), 1, "a port reused towards several destinations");
  assert.equal(load(3, 0), 0);
  assert.equal(percent(0), "0%");
  assert.equal(percent(0.004), "<1%");
  assert.equal(percent(0.5), "50%");
  assert.equal(bar(0, 4), "░░░░");
  assert.equal(bar(0.01, 4), "█░░░", "any use shows");
  assert.equal(bar(0.5, 4), "██░░");
  assert.equal(bar(3, 4), "████");
});

test("times read as how long ago, clock skew as just now", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  assert.equal(ago("2026-01-01T12:00:00Z", now), "just now");
  assert.equal(ago("2026-01-01T12:00:05Z", now), "just now");
  assert.equal(ago("2026-01-01T11:59:30Z", now), "30 s ago");
  assert.equal(ago("2026-01-01T11:45:00Z", now), "15 min ago");
  assert.equal(ago("2026-01-01T09:00:00Z", now), "3 h ago");
  assert.equal(ago("2025-12-29T12:00:00Z", now), "3 d ago");
  assert.equal(ago("not a time", now), "not a time");
});

test("protocols are listed in order, those without flows left out", () => {
  assert.equal(protocolList({ udp: 30, tcp: 0, icmp: 1 }), "udp 30, icmp 1");
  assert.equal(protocolList({}), "none");
});
