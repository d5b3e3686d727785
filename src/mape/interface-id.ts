/**
 * The two interface-ID layouts of a MAP-E CE address. Japanese services all use the layout of
 * draft-ietf-softwire-map-03 (OpenWrt's "legacy MAP"), RFC 7597 moved the IPv4 address one byte
 * to the right; a BR accepts only the layout it was built for.
 */
export type InterfaceIdLayout = "draft-03" | "rfc7597";

export const INTERFACE_ID_LAYOUTS: readonly InterfaceIdLayout[] = ["draft-03", "rfc7597"];

export function makeInterfaceId(layout: InterfaceIdLayout, ipv4: number, psid: number): bigint {
  const v4 = BigInt(ipv4);
  const p = BigInt(psid);
  // draft-03: 00 | IPv4 (32) | PSID (16) | 00 ; RFC 7597 §6: 0000 | IPv4 (32) | PSID (16)
  return layout === "draft-03" ? (v4 << 24n) | (p << 8n) : (v4 << 16n) | p;
}

/** The IPv4 and PSID fields of an interface ID, or null when its fixed zero bits are not zero. */
export function readInterfaceId(
  layout: InterfaceIdLayout,
  iid: bigint,
): { ipv4: number; psid: number } | null {
  if (layout === "draft-03") {
    if (iid >> 56n !== 0n || (iid & 0xffn) !== 0n) return null;
    return { ipv4: Number((iid >> 24n) & 0xffffffffn), psid: Number((iid >> 8n) & 0xffffn) };
  }
  if (iid >> 48n !== 0n) return null;
  return { ipv4: Number((iid >> 16n) & 0xffffffffn), psid: Number(iid & 0xffffn) };
}
