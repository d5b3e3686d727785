/**
 * Just enough of classic pcap to count IPv6 packets by source and destination on a WAN capture
 * (`tcpdump -U -w`): Ethernet, Linux cooked (SLL, SLL2) and raw IPv6 link types.
 */
export interface CapturedPacket {
  readonly src: string;
  readonly dst: string;
  /** The first next-header that is not an extension header (4 = IPv4 inside). */
  readonly payload: number;
  readonly destOptions: boolean;
}

export class PcapError extends Error {}

function ipv6Text(bytes: Uint8Array, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push(((bytes[offset + i] ?? 0) * 256 + (bytes[offset + i + 1] ?? 0)).toString(16));
  // compact enough for comparison after parseIpv6; callers normalise
  return groups.join(":");
}

function linkHeader(linkType: number, data: DataView, at: number): number | null {
  switch (linkType) {
    case 1: // Ethernet; skip one VLAN tag if present
      if (data.getUint16(at + 12) === 0x86dd) return 14;
      if (data.getUint16(at + 12) === 0x8100 && data.getUint16(at + 16) === 0x86dd) return 18;
      return null;
    case 113: // Linux SLL
      return data.getUint16(at + 14) === 0x86dd ? 16 : null;
    case 276: // Linux SLL2
      return data.getUint16(at) === 0x86dd ? 20 : null;
    case 101:
    case 229: // raw IP / IPv6
      return 0;
    default:
      return null;
  }
}

export function readPcap(buffer: Uint8Array): CapturedPacket[] {
  if (buffer.length < 24) throw new PcapError("capture file is shorter than a pcap header");
  const data = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const magic = data.getUint32(0, false);
  const little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  if (!little && magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new PcapError("not a classic pcap file");
  const linkType = data.getUint32(20, little) & 0xffff;
  const out: CapturedPacket[] = [];
  let at = 24;
  while (at + 16 <= buffer.length) {
    const caplen = data.getUint32(at + 8, little);
    const start = at + 16;
    at = start + caplen;
    if (at > buffer.length) break; // truncated last record of a capture that was still running
    const skip = linkHeader(linkType, data, start);
    if (skip === null) continue;
    const ip = start + skip;
    if (ip + 40 > at || (buffer[ip] ?? 0) >> 4 !== 6) continue;
    let next = buffer[ip + 6] ?? 0;
    let cursor = ip + 40;
    let destOptions = false;
    // hop-by-hop, routing, destination options: skip to the payload
    while ((next === 0 || next === 43 || next === 60) && cursor + 8 <= at) {
      if (next === 60) destOptions = true;
      next = buffer[cursor] ?? 0;
      cursor += ((buffer[cursor + 1] ?? 0) + 1) * 8;
    }
    out.push({ src: ipv6Text(buffer, ip + 8), dst: ipv6Text(buffer, ip + 24), payload: next, destOptions });
  }
  return out;
}
