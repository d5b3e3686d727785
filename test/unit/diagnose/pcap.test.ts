import assert from "node:assert/strict";
import { test } from "node:test";
import { PcapError, readPcap } from "../../../src/diagnose/pcap.ts";
import { countCapture, probeFinding } from "../../../src/diagnose/probe-report.ts";

/** A pcap with Ethernet frames carrying IPv6 with the given next headers, built byte by byte. */
function pcap(packets: { src: number[]; dst: number[]; next: number; destOpts?: boolean }[]): Uint8Array {
  const parts: number[] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
  ];
  for (const p of packets) {
    const ext = p.destOpts === true ? [p.next, 0, 4, 1, 4, 1, 1, 0] : [];
    const frame = [
      ...new Array<number>(12).fill(0),
      0x86,
      0xdd,
      0x60,
      0,
      0,
      0,
      0,
      ext.length + 20,
      p.destOpts === true ? 60 : p.next,
      64,
      ...p.src,
      ...p.dst,
      ...ext,
      ...new Array<number>(20).fill(0),
    ];
    const len = [frame.length & 255, frame.length >> 8, 0, 0];
    parts.push(0, 0, 0, 0, 0, 0, 0, 0, ...len, ...len, ...frame);
  }
  return Uint8Array.from(parts);
}

const CE = [0x24, 0x04, 0x7a, 0x82, 0x4d, 0x02, 0x41, 0x00, 0, 0x85, 0xd1, 0x0d, 0x02, 0, 0x41, 0];
const BR = [0x20, 0x01, 0x02, 0x60, 0x07, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0x02, 0x75];
const JPNE = [0x24, 0x04, 0x92, 0, 0x02, 0x25, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x64];

test("a WAN capture is counted towards and from the BR, with destination options seen", () => {
  const packets = readPcap(
    pcap([
      { src: CE, dst: JPNE, next: 4, destOpts: true },
      { src: CE, dst: JPNE, next: 4 },
      { src: BR, dst: CE, next: 4 },
      { src: CE, dst: BR, next: 58 },
    ]),
  );
  assert.equal(packets.length, 4);
  assert.equal(packets[0]?.destOptions, true);
  assert.equal(packets[0].payload, 4);
  const counts = countCapture(packets, "2404:9200:225:100::64");
  assert.deepEqual(counts, {
    toBr: 2,
    fromBr: 0,
    fromOthers: ["2001:260:700:1:0:0:1:275"],
    withDestOptions: 1,
  });
  const finding = probeFinding(
    {
      steps: [{ name: "icmp", target: "8.8.8.8", ok: false, detail: "0 of 3 echo replies" }],
      tunnelTx: 3,
      tunnelRx: 0,
      ...counts,
    },
    "2404:9200:225:100::64",
  );
  assert.equal(finding.verdict, "fail");
  assert.match(
    finding.summary,
    /2 sent to BR 2404:9200:225:100::64, 0 received.*packets leave, nothing comes back/,
  );
});

test("a file that is not pcap is refused with PcapError", () => {
  assert.throws(() => readPcap(Uint8Array.from([1, 2, 3])), PcapError);
  assert.throws(() => readPcap(new Uint8Array(40)), PcapError);
});
