/**
 * Host names mapectl passes to a resolver and writes into reports and files (an AFTR's name).
 */

/** RFC 1035 §2.3.4: 255 octets on the wire, labels of 1 to 63. */
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;
/**
 * A host name label (letters, digits, inner hyphens; RFC 1123 §2.1). Stricter than DNS allows on
 * purpose: the name goes to a resolver and into reports and rendered files, and an AFTR is a host.
 */
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Whether `text` is a host name an AFTR may have: dot-separated labels, no trailing dot needed. */
export function hostNameProblem(text: string): string | null {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name === "") return "is empty";
  // Each label's length octet plus the root's: the wire form's size.
  if (name.length + 2 > MAX_NAME_WIRE) return `is longer than ${MAX_NAME_WIRE} octets in DNS form`;
  const labels = name.split(".");
  if (labels.length < 2) return `"${name.slice(0, 64)}" is not a fully qualified name`;
  for (const label of labels) {
    if (label.length > MAX_LABEL) return `label "${label.slice(0, 20)}…" is longer than ${MAX_LABEL}`;
    if (!LABEL.test(label)) return `label "${label.slice(0, 64)}" is not a host name label (a-z, 0-9, -)`;
  }
  return null;
}
