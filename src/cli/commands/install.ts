import { SCHEMA_VERSION } from "../../mape/schema-version.ts";
import { JSON_HELP } from "../common-options.ts";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { Option, type Command } from "commander";
import type { Installer, Manifest, Step } from "../../host/installer.ts";
import { HostRefusal } from "../../host/host-refusal.ts";
import { requireRoot } from "../../host/privilege.ts";
import { hiddenExecutable } from "../../plan/unit-sandbox.ts";
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

const DEBIAN = {
  config: "/etc/mapectl/config.toml",
  unit: "/etc/systemd/system/mapectl.service",
  packagedUnit: "/lib/systemd/system/mapectl.service",
  manifest: "/var/lib/mapectl/install.json",
} as const;

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
function runningCommand(): { command: string[]; sea: boolean } {
  let sea: boolean;
  try {
    // require, not import(): a single executable's main script has no dynamic import() at all, so
    // import("node:sea") fails there and the executable took itself for a script named argv[1].
    // (Node before 20.12 has no node:sea: then it is no single executable either.)
    const nodeRequire = createRequire(join(process.cwd(), "mapectl-install.js"));
    sea = (nodeRequire("node:sea") as typeof import("node:sea")).isSea();
  } catch {
    sea = false;
  }
  if (sea) return { command: [process.execPath], sea };
  const script = process.argv[1];
  if (script === undefined) throw new CliError("failure", "cannot tell which file this mapectl runs from");
  return { command: [process.execPath, realpathSync(script)], sea };
}

/**
 * The NAPT table the boot hook loads, when the configuration install leaves is complete enough to
 * plan: with a prefix in it, or on the router itself (the host read as `up` reads it). Else why not.
 */
async function bootTableContent(root: string, configPath: string): Promise<string | { why: string }> {
  const { MapectlError } = await import("../../mape/errors.ts");
  try {
    const { settingsFrom } = await import("../settings.ts");
    const { loadRuleTables } = await import("../rule-tables.ts");
    const { shippedNotMape } = await import("../../rules/shipped.ts");
    const desired = await import("../../plan/desired.ts");
    const { renderNftables } = await import("../../render/nftables.ts");
    const { settings } = settingsFrom({ config: join(root, configPath) });
    const table = loadRuleTables(settings.rulesFiles);
    if (settings.prefix !== null)
      return renderNftables(desired.planWithoutHost(settings, table, shippedNotMape()).plan);
    if (root !== "/") return { why: `no prefix in ${configPath}, and the host below ${root} is not read` };
    const { observeHost } = await import("../../host/observe.ts");
    const { processRunner } = await import("../../host/command-runner.ts");
    const host = await observeHost(processRunner);
    return renderNftables(desired.desiredPlan(settings, host, table, shippedNotMape()).plan);
  } catch (err) {
    if (err instanceof MapectlError) return { why: err.message };
    throw err;
  }
}

async function installBootTable(
  inst: Installer,
  root: string,
  vyos: typeof import("../../render/vyos.ts"),
  notes: string[],
): Promise<void> {
  const content = await bootTableContent(root, vyos.VYOS_CONFIG_PATH);
  inst.generated(vyos.VYOS_NFT_PATH, typeof content === "string" ? content : null, 0o644);
  if (typeof content !== "string") {
    notes.push(
      `${vyos.VYOS_NFT_PATH}, the NAPT table the boot hook loads, is not written yet (${content.why}): the daemon or mapectl up writes it when it first loads the NAPT`,
    );
  }
}

async function runInstall(flags: InstallFlags, output: Output): Promise<void> {
  const { Installer, loadManifest, writeAtomic } = await import("../../host/installer.ts");
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
  const running = runningCommand();
  // a packaged install's unit runs the package's executable
  const unitRuns =
    target === "debian" && ![DEBIAN_EXECUTABLE, DEBIAN.packagedUnit].some((p) => existsSync(join(root, p)));
  const hidden = unitRuns
    ? hiddenExecutable(renderSystemdUnit({ command: running.command }).content, running.command)
    : null;
  if (hidden !== null) throw new HostRefusal(hidden);
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
    inst.block(vyos.VYOS_BOOT_SCRIPT, vyos.VYOS_BOOT_SCRIPT_DEFAULT, vyos.vyosBootMarkedBlock());
    await installBootTable(inst, root, vyos, notes);
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
  const { loadManifest, removeInstalled } = await import("../../host/installer.ts");
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
  const steps = removeInstalled(
    root,
    found.path,
    manifest,
    { begin: vyos.BOOT_BLOCK_BEGIN, end: vyos.BOOT_BLOCK_END, emptyFile: vyos.VYOS_BOOT_SCRIPT_DEFAULT },
    flags.dryRun === true,
  );
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
