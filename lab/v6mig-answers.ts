/**
 * HB46PP answers as real servers give them, for the lab's provisioning server and the host tests.
 * Typed in, never computed from mapectl's own tables: a misreading shared by the client and the
 * server that is built from the client's data could not show.
 */

/** v6 コネクト's published answer (2024): DS-Lite only; its token stands in for the one seen. */
export const V6CONNECT_DSLITE = {
  ttl: 86400,
  token: "0b6f3c1ad2e4f5a6978812ab34cd56ef7890abcdef1234567890abcdef123456",
  service_name: "v6 コネクト",
  enabler_name: "v6 コネクト",
  dslite: { aftr: "dslite.v6connect.net" },
  order: ["dslite"],
} as const;

/** transix's published answer: DS-Lite to its AFTR's address. */
export const TRANSIX_DSLITE = {
  ttl: 86400,
  order: ["dslite"],
  dslite: { aftr: "2404:8e00::feed:101" },
} as const;

/**
 * A MAP-E answer written from the spec's field table (§3.4: enabler_name, service_name, isp_name,
 * ttl, token, order, map_e {version, mesh, br, rules[{ipv6, ipv4, ea_length, psid_offset}]}) with
 * BIGLOBE's published rule for the lab's /56s (2404:7a82:4c00::/38 → 133.209.12.0/22, 18 EA bits,
 * PSID offset 4) and its east BR, where the lab's BR listens.
 */
export const LAB_MAP_E = {
  enabler_name: "mapectl lab VNE",
  service_name: "IPv6オプション",
  isp_name: "BIGLOBE",
  ttl: 86400,
  token: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  order: ["map_e"],
  map_e: {
    version: 0,
    mesh: 0,
    br: "2001:260:700:1::1:275",
    rules: [{ ipv6: "2404:7a82:4c00::/38", ipv4: "133.209.12.0/22", ea_length: 18, psid_offset: 4 }],
  },
} as const;

/** The /38 that LAB_MAP_E's rule covers, written out for the check below. */
const LAB_MAP_E_V6 = /^2404:7a82:4[c-f][0-9a-f]{2}:/i;

/**
 * The provisioning answer for a delegated prefix: LAB_MAP_E inside its rule's /38; elsewhere an
 * empty order, which is what a server answers a source it does not place.
 */
export function labV6migAnswer(prefix: string): Record<string, unknown> {
  if (LAB_MAP_E_V6.test(prefix)) return structuredClone(LAB_MAP_E);
  return { enabler_name: "mapectl lab VNE", ttl: 86400, order: [] };
}
