import { existsSync, readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { fileURLToPath } from "node:url";

/**
 * A reader for the copies of vyos-1x's interface definitions in src/render/data/vyos: enough of
 * VyOS's own rules (node, tagNode, leafNode, constraints as regex OR validator, valueless) to say
 * whether a `set` line would be accepted, without VyOS.
 */
export const VYOS_DATA = fileURLToPath(new URL("../../../src/render/data/vyos/", import.meta.url));

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: "#root", attrs: {}, children: [], text: "" };
  const stack = [root];
  const re =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  for (const m of text.matchAll(re)) {
    const top = stack[stack.length - 1];
    if (top === undefined) throw new Error("unbalanced XML");
    if (m[5] !== undefined) {
      top.text += m[5];
      continue;
    }
    if (m[2] === undefined) continue; // comment or declaration
    if (m[1] === "/") {
      if (top.name !== m[2]) throw new Error(`</${m[2]}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (m[3] ?? "").matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1] ?? ""] = a[2] ?? "";
    const el: XmlElement = { name: m[2], attrs, children: [], text: "" };
    top.children.push(el);
    if (m[4] !== "/") stack.push(el);
  }
  if (stack.length !== 1) throw new Error("unclosed XML element");
  return root;
}

/** A vyos-1x branch whose own copies (src/render/data/vyos/<branch>/) take the place of the shared ones. */
export type VyosBranch = "sagitta" | "circinus";

/** The branch's copy of a file when there is one, else the shared copy; null when neither was kept. */
function dataFile(relative: string, branch: VyosBranch | null): string | null {
  const own = branch === null ? null : `${VYOS_DATA}${branch}/${relative}`;
  if (own !== null && existsSync(own)) return own;
  const shared = `${VYOS_DATA}${relative}`;
  return existsSync(shared) ? shared : null;
}

/** Replaces `#include <include/…>` with the file when it was kept, else with nothing (a branch never rendered). */
function expandIncludes(text: string, branch: VyosBranch | null, depth = 0): string {
  if (depth > 10) throw new Error("#include nesting too deep");
  return text.replace(/^\s*#include <(include\/[^>]+)>\s*$/gm, (_line, path: string) => {
    const file = dataFile(`interface-definitions/${path}`, branch);
    return file === null ? "" : expandIncludes(readFileSync(file, "utf8"), branch, depth + 1);
  });
}

export interface Constraint {
  regexes: string[];
  validators: { name: string; argument: string }[];
}

export interface SchemaNode {
  kind: "node" | "tagNode" | "leafNode";
  name: string;
  constraint: Constraint | null;
  valueless: boolean;
  multi: boolean;
  children: Map<string, SchemaNode>;
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

function toNode(el: XmlElement): SchemaNode {
  const props = child(el, "properties");
  const c = props === undefined ? undefined : child(props, "constraint");
  const node: SchemaNode = {
    kind: el.name as SchemaNode["kind"],
    name: el.attrs.name ?? "",
    constraint:
      c === undefined
        ? null
        : {
            regexes: c.children.filter((x) => x.name === "regex").map((x) => x.text.trim()),
            validators: c.children
              .filter((x) => x.name === "validator")
              .map((x) => ({ name: x.attrs.name ?? "", argument: x.attrs.argument ?? "" })),
          },
    valueless: props !== undefined && child(props, "valueless") !== undefined,
    multi: props !== undefined && child(props, "multi") !== undefined,
    children: new Map(),
  };
  const kids = child(el, "children");
  if (kids !== undefined) addChildren(node.children, kids);
  return node;
}

/** VyOS merges definitions of the same node, e.g. a second `<leafNode name="mtu">` that only sets a default. */
function addChildren(into: Map<string, SchemaNode>, parent: XmlElement): void {
  for (const el of parent.children) {
    if (el.name !== "node" && el.name !== "tagNode" && el.name !== "leafNode") continue;
    const incoming = toNode(el);
    const existing = into.get(incoming.name);
    if (existing === undefined) {
      into.set(incoming.name, incoming);
      continue;
    }
    if (existing.kind !== incoming.kind)
      throw new Error(`${incoming.name} is both ${existing.kind} and ${incoming.kind}`);
    existing.constraint = incoming.constraint ?? existing.constraint;
    existing.valueless ||= incoming.valueless;
    existing.multi ||= incoming.multi;
    mergeInto(existing.children, incoming.children);
  }
}

/** The definitions in `files`; with a branch, that branch's copies first (the firewall differs per branch). */
export function loadSchema(
  files: readonly string[],
  branch: VyosBranch | null = null,
): Map<string, SchemaNode> {
  const root = new Map<string, SchemaNode>();
  for (const file of files) {
    const path = dataFile(`interface-definitions/${file}`, branch);
    if (path === null) throw new Error(`${file} is not kept${branch === null ? "" : ` for ${branch}`}`);
    const xml = parseXml(expandIncludes(readFileSync(path, "utf8"), branch));
    const def = child(xml, "interfaceDefinition");
    if (def === undefined) throw new Error(`${file}: no interfaceDefinition`);
    const merged = new Map<string, SchemaNode>();
    addChildren(merged, def);
    mergeInto(root, merged);
  }
  return root;
}

function mergeInto(into: Map<string, SchemaNode>, from: Map<string, SchemaNode>): void {
  for (const [name, node] of from) {
    const existing = into.get(name);
    if (existing === undefined) into.set(name, node);
    else mergeInto(existing.children, node.children);
  }
}

function ipv4Value(a: string): number {
  return a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

function ipv6HostBitsZero(address: string, length: number): boolean {
  const [head = "", tail = ""] = address.split("::");
  const parts = (s: string) => (s === "" ? [] : s.split(":"));
  const h = parts(head);
  const t = parts(tail);
  const groups = address.includes("::")
    ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t]
    : h;
  const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
  return (value & ((1n << BigInt(128 - length)) - 1n)) === 0n;
}

function cidr(text: string): { address: string; length: number; family: 4 | 6 } | null {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
  if (m === null) return null;
  const address = m[1] ?? "";
  const length = Number(m[2]);
  if (isIPv4(address) && length <= 32) return { address, length, family: 4 };
  if (isIPv6(address) && length <= 128) return { address, length, family: 6 };
  return null;
}

/** ipaddrcheck's checks, by the flag each kept validator script passes it. */
const IPADDRCHECK: Record<string, (v: string) => boolean> = {
  "--is-any-single": (v) => isIPv4(v) || isIPv6(v),
  "--is-ipv4-single": (v) => isIPv4(v),
  "--is-ipv6-single": (v) => isIPv6(v),
  // an address with or without a prefix length
  "--is-ipv6": (v) => isIPv6(v) || cidr(v)?.family === 6,
  "--is-any-host": (v) => {
    const c = cidr(v);
    if (c === null) return false;
    if (c.family === 6 || c.length >= 31) return true;
    const size = 2 ** (32 - c.length);
    const offset = ipv4Value(c.address) % size;
    return offset !== 0 && offset !== size - 1;
  },
  "--is-ipv4-net": (v) => {
    const c = cidr(v);
    return c?.family === 4 && ipv4Value(c.address) % 2 ** (32 - c.length) === 0;
  },
  "--is-ipv6-net": (v) => {
    const c = cidr(v);
    return c?.family === 6 && ipv6HostBitsZero(c.address, c.length);
  },
};

/** ip-protocol's name pattern, read from the kept script: its string pieces joined, as Python does. */
function ipProtocolNames(script: string): RegExp {
  const from = script.indexOf("pattern =");
  const to = script.indexOf("re.match", from);
  if (from < 0 || to < 0) throw new Error("ip-protocol: no pattern found");
  const pieces = [...script.slice(from, to).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? "");
  // re.match anchors at the start only
  return new RegExp(`^(?:${pieces.join("").replace(/\\\\/g, "\\")})`);
}

/** The Python validators the kept definitions name, modelled from their text (src/validators/<name>). */
const PYTHON_VALIDATORS: Record<string, (v: string, script: string) => boolean> = {
  // a whole number 0-255, else a name its pattern accepts
  "ip-protocol": (v, script) => (/^[0-9]+$/.test(v) && Number(v) <= 255) || ipProtocolNames(script).test(v),
  // two IPv6 addresses joined by "-" (the script also wants the left one lower; not modelled)
  "ipv6-range": (v) => {
    const [left = "", right, ...rest] = v.split("-");
    return right !== undefined && rest.length === 0 && isIPv6(left) && isIPv6(right);
  },
};

function runValidator(name: string, argument: string, value: string, branch: VyosBranch | null): boolean {
  if (name === "numeric") {
    const m = /^--range (\d+)-(\d+)$/.exec(argument);
    if (m === null) throw new Error(`numeric ${argument}: not modelled`);
    return /^[0-9]+$/.test(value) && Number(value) >= Number(m[1]) && Number(value) <= Number(m[2]);
  }
  // Checks for the interface on the router itself; offline it proves nothing, so it never passes here.
  if (name.startsWith("file-path ")) return false;
  const script = dataFile(`src/validators/${name}`, branch);
  if (script === null) throw new Error(`validator ${name} is not kept in src/render/data/vyos`);
  const text = readFileSync(script, "utf8");
  const python = PYTHON_VALIDATORS[name];
  if (python !== undefined) return python(value, text);
  // the *-exclude wrappers: "!" and then the value the named validator accepts
  const negated = /\$\{path\}\/([a-z0-9-]+) "\$\{arg:1\}"/.exec(text)?.[1];
  if (negated !== undefined)
    return value.startsWith("!") && runValidator(negated, "", value.slice(1), branch);
  const flag = /ipaddrcheck (--[a-z0-9-]+) "?\$1"?/.exec(text)?.[1];
  const check = flag === undefined ? undefined : IPADDRCHECK[flag];
  if (check === undefined) throw new Error(`validator ${name}: ipaddrcheck ${flag ?? "?"} not modelled`);
  return check(value);
}

function accepts(constraint: Constraint | null, value: string, branch: VyosBranch | null): boolean {
  if (constraint === null) return true;
  return (
    constraint.regexes.some((r) => new RegExp(`^(?:${r})$`).test(value)) ||
    constraint.validators.some((v) => runValidator(v.name, v.argument, value, branch))
  );
}

/** The words of a `set` line, with single and double quotes as vbash reads them. */
export function setWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3] ?? "");
  return words;
}

/** null when VyOS would accept the line, else why not. */
export function checkSet(
  schema: Map<string, SchemaNode>,
  line: string,
  branch: VyosBranch | null = null,
): string | null {
  const words = setWords(line);
  if (words[0] !== "set") return `not a set command: ${line}`;
  let level = schema;
  const path: string[] = [];
  for (let i = 1; i < words.length;) {
    const word = words[i++] ?? "";
    const node = level.get(word);
    if (node === undefined) return `no "${word}" under "${path.join(" ")}"`;
    path.push(word);
    if (node.kind === "node") {
      level = node.children;
      continue;
    }
    if (node.kind === "leafNode" && node.valueless)
      return i === words.length ? null : `${word} takes no value`;
    const value = words[i++];
    if (value === undefined) return `${path.join(" ")} needs a value`;
    if (!accepts(node.constraint, value, branch))
      return `"${value}" is not a valid value for ${path.join(" ")}`;
    path.push(value);
    if (node.kind === "leafNode") return i === words.length ? null : `words after the value of ${word}`;
    // A tag node's value alone creates the entry (`… route 0.0.0.0/0 interface tun0`).
    if (i === words.length) return null;
    level = node.children;
  }
  return `"${path.join(" ")}" ends before a value`;
}
