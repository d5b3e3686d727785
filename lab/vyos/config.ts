/**
 * The VyOS profile's configuration tree: what `set` and `delete` lines in configure mode leave
 * behind, kept as the list of full paths VyOS would show with `show configuration commands`.
 * Only the nodes the profile acts on are interpreted (tables.ts, commit.ts); every other line is
 * kept, so `nat` and `firewall` nodes exist as soon as any line names them, as in VyOS.
 */
export class VyosConfig {
  private readonly paths: string[][] = [];

  constructor(lines: readonly string[] = []) {
    this.apply(lines);
  }

  clone(): VyosConfig {
    const copy = new VyosConfig();
    copy.paths.push(...this.paths.map((p) => [...p]));
    return copy;
  }

  /** Applies configure-mode lines; comments, blanks, `commit` and `save` are skipped. */
  apply(lines: readonly string[]): this {
    for (const raw of lines) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line === "commit" || line === "save") continue;
      const [verb, ...words] = splitWords(line);
      if (verb === "set") this.set(words);
      else if (verb === "delete") this.delete(words);
      else throw new Error(`the VyOS profile reads set and delete lines, not: ${line}`);
    }
    return this;
  }

  /** Adds a value; a single-valued leaf (VyOS's leafNode without multi) gets its value replaced. */
  set(path: readonly string[]): void {
    if (this.paths.some((p) => sameWords(p, path))) return;
    if (singleValued(path)) this.delete(path.slice(0, -1));
    this.paths.push([...path]);
  }

  /** Deletes the node and everything below it, as VyOS does. */
  delete(prefix: readonly string[]): void {
    for (let i = this.paths.length - 1; i >= 0; i--) {
      const p = this.paths[i];
      if (p !== undefined && startsWith(p, prefix)) this.paths.splice(i, 1);
    }
  }

  exists(prefix: readonly string[]): boolean {
    return this.paths.some((p) => startsWith(p, prefix));
  }

  /** The words that follow `prefix` (tag node names, or a leaf's values), in the order they were set. */
  children(prefix: readonly string[]): string[] {
    const found: string[] = [];
    for (const p of this.paths) {
      const word = startsWith(p, prefix) ? p[prefix.length] : undefined;
      if (word !== undefined && !found.includes(word)) found.push(word);
    }
    return found;
  }

  /** A leaf's single value, or null. */
  value(prefix: readonly string[]): string | null {
    return this.children(prefix)[0] ?? null;
  }

  /** Every full path, as `show configuration commands` lists them. */
  commands(): string[] {
    return this.paths.map((p) => `set ${p.map((w) => (/[\s'"]/.test(w) ? `'${w}'` : w)).join(" ")}`);
  }
}

/** Leaves the profile reads that take one value (interface-definitions: no <multi/>). */
const SINGLE_LEAVES = new Set([
  "encapsulation",
  "source-address",
  "source-interface",
  "remote",
  "encaplimit",
  "mtu",
  "action",
  "default-action",
  "protocol",
  "name",
]);

function singleValued(path: readonly string[]): boolean {
  const leaf = path[path.length - 2];
  if (leaf === undefined) return false;
  // interface addresses are multi; a firewall rule's `source address` is not
  if (leaf === "address") return path[0] !== "interfaces";
  return SINGLE_LEAVES.has(leaf);
}

function sameWords(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && startsWith(a, b);
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((w, i) => path[i] === w);
}

/** Words as VyOS's shell-like parser reads them: single or double quotes group, nothing expands. */
function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3] ?? "");
  return words;
}
