import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { JSON_HELP } from "../common-options.ts";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { requireRoot } from "../../host/privilege.ts";
import { collect } from "../common-options.ts";
import { CliError } from "../exit-codes.ts";
import { printJson, type Output } from "../output.ts";

const TARGETS = ["debian", "vyos"] as const;
type InstallTarget = (typeof TARGETS)[number];

interface InstallFlags {
  target?: InstallTarget;
  dryRun?: boolean;
  root?: string;
  json?: boolean;
  wan?: string;
  lan?: string[];
}

/** One thing install wrote, as uninstall needs to know it. */
interface ManifestEntry {
  readonly path: string;
  readonly kind: "dir" | "file" | "block";
  /** For a file: its content's sha256 when written; uninstall keeps a file changed since. */
  readonly sha256?: string;
  /** For a block: whether install created the file around it. */
  readonly createdFile?: boolean;
}

interface Manifest {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly target: InstallTarget;
  readonly entries: ManifestEntry[];
}

interface Step {
  readonly path: string;
  readonly action: "create" | "update" | "unchanged" | "keep" | "remove" | "skip";
  readonly why?: string;
}

const DEBIAN = {
  config: "/etc/mapectl/config.toml",
  unit: "/etc/systemd/system/mapectl.service",
  packagedUnit: "/lib/systemd/system/mapectl.service",
  manifest: "/var/lib/mapectl/install.json",
} as const;

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function requireRootToWrite(command: string, flags: InstallFlags): void {
  if (flags.dryRun === true || flags.root !== undefined) return;
  requireRoot(
    `mapectl ${command} writes to /etc, /config and systemd's directories and must run as root (sudo mapectl ${command} …), or add --dry-run`,
  );
}

function detectTarget(root: string): InstallTarget {
  return existsSync(join(root, "usr/libexec/vyos")) || existsSync(join(root, "opt/vyatta/etc/version"))
    ? "vyos"
    : "debian";
}

/** The words that start this very mapectl: the single executable, or node and the bundle. */
async function runningCommand(): Promise<{ command: string[]; sea: boolean }> {
  let sea: boolean;
  try {
    sea = (await import("node:sea")).isSea();
  } catch {
    sea = false;
  }
  if (sea) return { command: [process.execPath], sea };
  const script = process.argv[1];
  if (script === undefined) throw new CliError("failure", "cannot tell which file this mapectl runs from");
  return { command: [process.execPath, realpathSync(script)], sea };
}

/** Writes through a temporary file, so an interrupted install never leaves half a file. */
function writeAtomic(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.mapectl-tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function loadManifest(path: string): Manifest | null {
  if (!existsSync(path)) return null;
  try {
    const doc = JSON.parse(readFileSync(path, "utf8")) as { schemaVersion?: unknown; entries?: unknown };
    if (doc.schemaVersion !== SCHEMA_VERSION || !Array.isArray(doc.entries))
      throw new Error("unknown format");
    return doc as Manifest;
  } catch (err) {
    throw new CliError("config", `${path} is damaged (${(err as Error).message}); remove it by hand`);
  }
}

function removeBlock(text: string, begin: string, end: string): string {
  const lines = text.split("\n");
  const from = lines.findIndex((l) => l.startsWith(begin));
  const to = lines.findIndex((l, i) => i > from && l.startsWith(end));
  if (from < 0 || to < 0) return text;
  return [...lines.slice(0, from), ...lines.slice(to + 1)].join("\n");
}

class Installer {
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

  /** Adds or replaces mapectl's block in a file of the user's, creating the file if needed. */
  block(path: string, header: string, block: string, begin: string, end: string): void {
    const target = this.at(path);
    const exists = existsSync(target);
    const current = exists ? readFileSync(target, "utf8") : header;
    const without = removeBlock(current, begin, end);
    const next = `${without}${without.endsWith("\n") || without === "" ? "" : "\n"}${block}`;
    const action = !exists ? "create" : next === current ? "unchanged" : "update";
    this.steps.push({ path, action });
    const mode = exists ? statSync(target).mode & 0o7777 : 0o755;
    this.dir(dirname(path));
    if (!this.dryRun && next !== current) writeAtomic(target, next, mode);
    const createdFile = this.entries.get(path)?.createdFile ?? !exists;
    this.entries.set(path, { path, kind: "block", createdFile });
  }
}

async function runInstall(flags: InstallFlags, output: Output): Promise<void> {
  requireRootToWrite("install", flags);
  const root = resolve(flags.root ?? "/");
  const target = flags.target ?? detectTarget(root);
  const { renderSystemdUnit, DEBIAN_EXECUTABLE } = await import("../../render/systemd.ts");
  const vyos = await import("../../render/vyos.ts");
  const { renderStarterConfig } = await import("../../plan/starter-config.ts");
  const config = renderStarterConfig({
    wan: flags.wan ?? null,
    lan: flags.lan ?? [],
    prefixNote: null,
    parametersNote: null,
    vyos: target === "vyos",
  });
  const manifestPath = target === "vyos" ? `${vyos.VYOS_DIR}/install.json` : DEBIAN.manifest;
  const inst = new Installer(root, flags.dryRun === true, loadManifest(join(root, manifestPath)));
  const notes: string[] = [];
  const running = await runningCommand();
  if (target === "vyos") {
    inst.dir(vyos.VYOS_DIR);
    const source = running.command[running.command.length - 1] ?? "";
    if (resolve(source) !== join(root, vyos.VYOS_EXECUTABLE)) {
      inst.file(vyos.VYOS_EXECUTABLE, readFileSync(source), 0o755);
    }
    if (!running.sea) {
      notes.push(
        `${vyos.VYOS_EXECUTABLE} is the Node bundle, which needs Node 20 or later on the router; VyOS has none: install from the single executable instead`,
      );
    }
    inst.file(vyos.VYOS_CONFIG_PATH, config, 0o644, true);
    const unit = renderSystemdUnit({
      command: [vyos.VYOS_EXECUTABLE],
      watchArgs: ["--config", vyos.VYOS_CONFIG_PATH],
      extraWritablePaths: [vyos.VYOS_DIR],
    });
    inst.file(vyos.VYOS_UNIT_PATH, unit.content, 0o644);
    inst.dir(dirname(vyos.VYOS_BOOT_SCRIPT));
    inst.block(
      vyos.VYOS_BOOT_SCRIPT,
      vyos.VYOS_BOOT_SCRIPT_DEFAULT,
      vyos.vyosBootBlock(),
      vyos.BOOT_BLOCK_BEGIN,
      vyos.BOOT_BLOCK_END,
    );
    notes.push(
      `edit ${vyos.VYOS_CONFIG_PATH} (wan, lan), configure the tunnel and routes (mapectl render --target vyos), then start the daemon now:`,
      `  sudo cp ${vyos.VYOS_UNIT_PATH} /run/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl start mapectl`,
      "it starts by itself on every boot from then on",
    );
  } else {
    inst.dir(dirname(DEBIAN.config));
    inst.file(DEBIAN.config, config, 0o644, true);
    if (existsSync(join(root, DEBIAN.packagedUnit))) {
      inst.steps.push({
        path: DEBIAN.unit,
        action: "skip",
        why: `the package installed ${DEBIAN.packagedUnit}`,
      });
    } else {
      const packaged = existsSync(join(root, DEBIAN_EXECUTABLE));
      inst.file(
        DEBIAN.unit,
        renderSystemdUnit({ command: packaged ? [DEBIAN_EXECUTABLE] : running.command }).content,
        0o644,
      );
    }
    notes.push(
      `edit ${DEBIAN.config} (wan, lan), then: sudo systemctl daemon-reload && sudo systemctl enable --now mapectl`,
    );
  }
  inst.dir(dirname(manifestPath));
  const manifest: Manifest = { schemaVersion: SCHEMA_VERSION, target, entries: [...inst.entries.values()] };
  if (flags.dryRun !== true)
    writeAtomic(join(root, manifestPath), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  report(output, flags, "install", target, root, inst.steps, notes);
}

async function runUninstall(flags: InstallFlags, output: Output): Promise<void> {
  requireRootToWrite("uninstall", flags);
  const root = resolve(flags.root ?? "/");
  const vyos = await import("../../render/vyos.ts");
  const candidates = (flags.target === undefined ? TARGETS : [flags.target]).map((t) => ({
    target: t,
    path: t === "vyos" ? `${vyos.VYOS_DIR}/install.json` : DEBIAN.manifest,
  }));
  const found = candidates.find((c) => existsSync(join(root, c.path)));
  if (found === undefined) {
    report(
      output,
      flags,
      "uninstall",
      flags.target ?? detectTarget(root),
      root,
      [],
      ["nothing to remove: mapectl install has not run here"],
    );
    return;
  }
  const manifest = loadManifest(join(root, found.path));
  const steps: Step[] = [];
  const dryRun = flags.dryRun === true;
  const dirs: string[] = [];
  for (const entry of [...(manifest?.entries ?? [])].reverse()) {
    const at = join(root, entry.path);
    if (entry.kind === "dir") {
      dirs.push(entry.path);
      continue;
    }
    if (!existsSync(at)) {
      steps.push({ path: entry.path, action: "skip", why: "already gone" });
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
    const rest = removeBlock(text, vyos.BOOT_BLOCK_BEGIN, vyos.BOOT_BLOCK_END);
    if (entry.createdFile === true && rest === vyos.VYOS_BOOT_SCRIPT_DEFAULT) {
      steps.push({ path: entry.path, action: "remove" });
      if (!dryRun) rmSync(at);
    } else {
      steps.push({ path: entry.path, action: "update", why: "mapectl's block removed" });
      if (!dryRun) writeAtomic(at, rest, statSync(at).mode & 0o7777);
    }
  }
  steps.push({ path: found.path, action: "remove" });
  if (!dryRun) rmSync(join(root, found.path));
  for (const dir of new Set([dirname(found.path), ...dirs])) {
    const at = join(root, dir);
    if (existsSync(at) && readdirSync(at).length === 0) {
      steps.push({ path: dir, action: "remove" });
      if (!dryRun) rmdirSync(at);
    }
  }
  report(output, flags, "uninstall", found.target, root, steps, [
    "if the daemon runs: sudo systemctl disable --now mapectl; sudo systemctl daemon-reload",
  ]);
}

function report(
  output: Output,
  flags: InstallFlags,
  command: "install" | "uninstall",
  target: InstallTarget,
  root: string,
  steps: readonly Step[],
  notes: readonly string[],
): void {
  const dryRun = flags.dryRun === true;
  if (flags.json === true) {
    printJson(output, { schemaVersion: SCHEMA_VERSION, command, target, root, dryRun, steps, notes });
    return;
  }
  const verb: Record<Step["action"], string> = {
    create: dryRun ? "would create" : "created",
    update: dryRun ? "would update" : "updated",
    unchanged: "unchanged",
    keep: "kept",
    remove: dryRun ? "would remove" : "removed",
    skip: "skipped",
  };
  const width = Math.max(0, ...steps.map((s) => verb[s.action].length));
  output.out(
    [
      `mapectl ${command} (${target}${root === "/" ? "" : `, below ${root}`})${dryRun ? ": dry run, nothing changed" : ""}`,
      ...steps.map(
        (s) => `  ${verb[s.action].padEnd(width)}  ${s.path}${s.why === undefined ? "" : ` (${s.why})`}`,
      ),
      ...notes.map((n) => `${n.startsWith("  ") ? "" : "next: "}${n}`),
    ].join("\n"),
  );
}

export function registerInstall(program: Command, output: Output): void {
  const common = (command: Command) =>
    command
      .addOption(
        new Option("--target <target>", "the kind of router (default: VyOS if this is one)").choices(TARGETS),
      )
      .option("--dry-run", "say what would be written or removed, change nothing")
      .option("--root <dir>", "act below DIR instead of / (packaging, tests)")
      .option("--json", JSON_HELP);
  common(
    program
      .command("install")
      .summary(
        "install the daemon's unit and a starter configuration (VyOS: all under /config, with the boot hook)",
      )
      .description(
        "Write the configuration if there is none, the hardened systemd unit that runs `mapectl watch`, and on\n" +
          "VyOS the executable, the unit and the boot hook, all under /config so they survive an image\n" +
          "upgrade. What it wrote is listed in a manifest, so `mapectl uninstall` removes exactly that.",
      ),
  )
    .option("--wan <if>", "the WAN interface, for the starter configuration")
    .option("--lan <if>", "a LAN interface, for the starter configuration (repeatable)", collect)
    .action(async (flags: InstallFlags) => {
      await runInstall(flags, output);
    });
  common(
    program
      .command("uninstall")
      .summary("remove exactly what mapectl install wrote (files changed since are kept)"),
  ).action(async (flags: InstallFlags) => {
    await runUninstall(flags, output);
  });
}
