import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { SCHEMA_VERSION } from "../mape/schema-version.ts";
import { withMarkedBlock, withoutMarkedBlock, type MarkedBlock } from "../render/marked-block.ts";
import { HostError } from "./errors.ts";

// What mapectl install writes and uninstall removes, under a root directory (/ or a test's):
// every path recorded in a manifest, so uninstall removes exactly that and keeps what the user changed.

/** One thing install wrote, as uninstall needs to know it. */
export interface ManifestEntry {
  readonly path: string;
  /** generated: a file mapectl rewrites as it runs (the boot table): uninstall removes it whatever it holds. */
  readonly kind: "dir" | "file" | "block" | "generated";
  /** For a file: its content's sha256 when written; uninstall keeps a file changed since. */
  readonly sha256?: string;
  /** For a block: whether install created the file around it. */
  readonly createdFile?: boolean;
}

export interface Manifest<Target extends string = string> {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly target: Target;
  readonly entries: ManifestEntry[];
}

export interface Step {
  readonly path: string;
  readonly action: "create" | "update" | "unchanged" | "keep" | "remove" | "skip";
  readonly why?: string;
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Writes through a temporary file, so an interrupted install never leaves half a file. */
export function writeAtomic(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.mapectl-tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function loadManifest(path: string): Manifest | null {
  if (!existsSync(path)) return null;
  try {
    const doc = JSON.parse(readFileSync(path, "utf8")) as { schemaVersion?: unknown; entries?: unknown };
    if (doc.schemaVersion !== SCHEMA_VERSION || !Array.isArray(doc.entries))
      throw new Error("unknown format");
    return doc as Manifest;
  } catch (err) {
    throw new HostError(
      "FILE_UNREADABLE",
      `${path} is damaged (${(err as Error).message}); remove it by hand`,
    );
  }
}

export class Installer {
  readonly steps: Step[] = [];
  readonly entries = new Map<string, ManifestEntry>();
  readonly root: string;
  readonly dryRun: boolean;

  constructor(root: string, dryRun: boolean, previous: Manifest | null) {
    this.root = root;
    this.dryRun = dryRun;
    for (const e of previous?.entries ?? []) this.entries.set(e.path, e);
  }

  private at(path: string): string {
    return join(this.root, path);
  }

  /** Creates the directory and any missing parent, each recorded so uninstall removes it too. */
  dir(path: string): void {
    if (path === "/" || existsSync(this.at(path))) return;
    this.dir(dirname(path));
    if (!this.dryRun) mkdirSync(this.at(path), { mode: 0o755 });
    this.entries.set(path, { path, kind: "dir" });
  }

  file(path: string, content: string | Buffer, mode: number, onlyIfMissing = false): void {
    const target = this.at(path);
    const exists = existsSync(target);
    if (exists && onlyIfMissing) {
      this.steps.push({ path, action: "keep", why: "it exists already" });
      return;
    }
    const same = exists && sha256(readFileSync(target)) === sha256(content);
    this.dir(dirname(path));
    this.steps.push({ path, action: same ? "unchanged" : exists ? "update" : "create" });
    if (!this.dryRun && !same) writeAtomic(target, content, mode);
    this.entries.set(path, { path, kind: "file", sha256: sha256(content) });
  }

  /**
   * A file that up and the daemon rewrite later: written now when its content is known (else left
   * as it is), and recorded either way, so that uninstall removes what they wrote too.
   */
  generated(path: string, content: string | null, mode: number): void {
    if (content !== null) this.file(path, content, mode);
    this.entries.set(path, { path, kind: "generated" });
  }

  /** Adds or replaces mapectl's block in a file of the user's, creating the file (from header) if needed. */
  block(path: string, header: string, block: MarkedBlock): void {
    const target = this.at(path);
    const exists = existsSync(target);
    const current = exists ? readFileSync(target, "utf8") : header;
    const next = withMarkedBlock(current, block, path);
    const action = !exists ? "create" : next === current ? "unchanged" : "update";
    this.steps.push({ path, action });
    const mode = exists ? statSync(target).mode & 0o7777 : 0o755;
    this.dir(dirname(path));
    if (!this.dryRun && next !== current) writeAtomic(target, next, mode);
    const createdFile = this.entries.get(path)?.createdFile ?? !exists;
    this.entries.set(path, { path, kind: "block", createdFile });
  }
}

/**
 * Removes what a manifest lists, newest first: a file only when unchanged since install, mapectl's
 * block out of a user's file (the whole file when install created it and nothing else is left),
 * then the manifest and the directories left empty.
 */
export function removeInstalled(
  root: string,
  manifestPath: string,
  manifest: Manifest | null,
  block: { readonly begin: string; readonly end: string; readonly emptyFile: string },
  dryRun: boolean,
): Step[] {
  const steps: Step[] = [];
  const dirs: string[] = [];
  for (const entry of [...(manifest?.entries ?? [])].reverse()) {
    const at = join(root, entry.path);
    if (entry.kind === "dir") {
      dirs.push(entry.path);
      continue;
    }
    if (!existsSync(at)) {
      if (entry.kind !== "generated") steps.push({ path: entry.path, action: "skip", why: "already gone" });
      continue;
    }
    if (entry.kind === "generated") {
      steps.push({ path: entry.path, action: "remove" });
      if (!dryRun) rmSync(at);
      continue;
    }
    if (entry.kind === "file") {
      if (sha256(readFileSync(at)) !== entry.sha256) {
        steps.push({ path: entry.path, action: "keep", why: "changed since install" });
        continue;
      }
      steps.push({ path: entry.path, action: "remove" });
      if (!dryRun) rmSync(at);
      continue;
    }
    const text = readFileSync(at, "utf8");
    const rest = withoutMarkedBlock(text, block, entry.path);
    if (entry.createdFile === true && rest === block.emptyFile) {
      steps.push({ path: entry.path, action: "remove" });
      if (!dryRun) rmSync(at);
    } else {
      steps.push({ path: entry.path, action: "update", why: "mapectl's block removed" });
      if (!dryRun) writeAtomic(at, rest, statSync(at).mode & 0o7777);
    }
  }
  steps.push({ path: manifestPath, action: "remove" });
  if (!dryRun) rmSync(join(root, manifestPath));
  for (const dir of new Set([dirname(manifestPath), ...dirs])) {
    const at = join(root, dir);
    if (existsSync(at) && readdirSync(at).length === 0) {
      steps.push({ path: dir, action: "remove" });
      if (!dryRun) rmdirSync(at);
    }
  }
  return steps;
}
