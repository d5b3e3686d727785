import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { runHost } from "./host-command.ts";
import type { LabKernel } from "./kernel.ts";

/** What stage 1 needs before the host's root is reachable: virtio-mmio, 9p, overlay, the agent's port. */
const STAGE1_MODULES = ["virtio_mmio", "9pnet_virtio", "9p", "overlay", "virtio_console"];

const BUSYBOX = "/bin/busybox";

/** Load order for the wanted modules and their dependencies, from modules.dep (deps first). */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split("\n")) {
    const [path, rest] = line.split(":");
    if (path === undefined || rest === undefined) continue;
    deps.set(path, rest.trim() === "" ? [] : rest.trim().split(/\s+/));
    byName.set(basename(path, ".ko").replaceAll("-", "_"), path);
  }
  const order: string[] = [];
  const visit = (path: string): void => {
    if (order.includes(path)) return;
    // modules.dep lists the closure with the deepest dependency last.
    for (const dep of [...(deps.get(path) ?? [])].reverse()) visit(dep);
    order.push(path);
  };
  for (const name of wanted) {
    const path = byName.get(name);
    if (path === undefined) continue; // built into this kernel
    visit(path);
  }
  return order;
}

/**
 * A busybox-static initramfs holding stage 1 (lab/guest/init.sh) and the modules it loads. Cached per
 * kernel and per content of init.sh, so editing the script rebuilds it.
 */
export function buildInitramfs(kernel: LabKernel, initScript: string): string {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: install busybox-static (scripts/setup.sh does)`);
  }
  const modulesDep = readFileSync(join(kernel.modulesDir, "modules.dep"), "utf8");
  const order = moduleLoadOrder(modulesDep, STAGE1_MODULES);
  const script = readFileSync(initScript);
  const hash = createHash("sha256")
    .update(script)
    .update(order.join("\n"))
    .update(readFileSync(BUSYBOX))
    .digest("hex")
    .slice(0, 16);
  const out = join(dirname(kernel.vmlinux), `initramfs-${hash}.cpio`);
  if (existsSync(out)) return out;

  const stage = `${out}.d-${process.pid}`;
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "bin"), { recursive: true });
  mkdirSync(join(stage, "modules"));
  copyFileSync(BUSYBOX, join(stage, "bin", "busybox"));
  writeFileSync(join(stage, "init"), script, { mode: 0o755 });
  const files = ["init", "bin", "bin/busybox", "modules", "modules/load"];
  for (const path of order) {
    const name = basename(path);
    copyFileSync(join(kernel.modulesDir, path), join(stage, "modules", name));
    files.push(`modules/${name}`);
  }
  writeFileSync(join(stage, "modules", "load"), order.map((p) => basename(p)).join("\n") + "\n");
  runHost(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0", "-F", `${out}.tmp`], {
    cwd: stage,
    input: files.join("\n") + "\n",
  });
  renameSync(`${out}.tmp`, out);
  rmSync(stage, { recursive: true, force: true });
  return out;
}
