import { ByteReader } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { hostNameProblem, MAX_LABEL, MAX_NAME_WIRE } from "../text/host-name.ts";

/** RFC 6334 §3: OPTION_AFTR_NAME carries the AFTR's FQDN for a DS-Lite B4. */
export const OPTION_AFTR_NAME = 64;

/**
 * The tunnel-endpoint-name of RFC 6334 §3: one FQDN in DNS wire form (RFC 8415 §10), without
 * compression, ending in the root label. Returns the name in lower case, without the final dot.
 */
export function decodeAftrName(data: Uint8Array, field: string): string {
  const reader = new ByteReader(data, field);
  if (data.length > MAX_NAME_WIRE)
    throw reader.fail("", `${data.length} bytes is longer than a domain name may be (${MAX_NAME_WIRE})`);
  const labels: string[] = [];
  for (;;) {
    const at = reader.offset;
    const length = reader.u8("label-length");
    if (length === 0) break;
    if (length > MAX_LABEL) {
      // 0xC0 and above is a compression pointer, which RFC 8415 §10 forbids in options.
      const what = length >= 0xc0 ? "a compression pointer (not allowed in DHCPv6)" : "longer than 63";
      throw reader.fail("label-length", `${length} at offset ${at} is ${what}`);
    }
    const bytes = reader.bytes(length, `label[${labels.length}]`);
    labels.push(String.fromCharCode(...bytes));
  }
  if (reader.remaining > 0)
    throw reader.fail("", `${reader.remaining} bytes after the root label: exactly one name is allowed`);
  const name = labels.join(".");
  if (labels.length === 0) throw reader.fail("", "is the root name alone, not an AFTR's name");
  const problem = hostNameProblem(name);
  if (problem !== null) throw new DecodeError("dhcpv6", field, problem);
  return name.toLowerCase();
}

/** The option's data for a name (for servers in tests and the lab). */
export function encodeAftrName(name: string): Uint8Array {
  const problem = hostNameProblem(name);
  if (problem !== null) throw new RangeError(`AFTR name ${problem}`);
  const labels = name.replace(/\.$/, "").split(".");
  const out: number[] = [];
  for (const label of labels) out.push(label.length, ...Array.from(label, (c) => c.charCodeAt(0)));
  out.push(0);
  return Uint8Array.from(out);
}
