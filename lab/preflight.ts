import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./paths.ts";
import { QEMU } from "./vm.ts";

/** What the host lacks to run the lab, as one sentence each with what to do; empty when ready. */
export function labPreflight(): string[] {
  const problems: string[] = [];
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    problems.push("the lab needs root (qemu's 9p export of / and apt-get download): run it with sudo");
  }
  const tools: [string, string][] = [
    [QEMU, "qemu-system-x86"],
    ["/bin/busybox", "busybox-static"],
    ["cpio", "cpio"],
    ["depmod", "kmod"],
    ["dpkg-deb", "dpkg"],
    ["apt-get", "apt"],
  ];
  const missing = tools.filter(
    ([tool]) => spawnSync(tool, ["--help"], { stdio: "ignore" }).error !== undefined,
  );
  if (missing.length > 0) {
    problems.push(
      `${missing.map(([t]) => t).join(", ")} missing: apt-get install ${missing.map(([, p]) => p).join(" ")} (or run scripts/setup.sh)`,
    );
  }
  return problems;
}

/** Why lab tests cannot run here (a missing bundle when they need one, then the preflight), or false. */
export function labSkip(options: { readonly needsBundle: boolean }): string | false {
  if (options.needsBundle && !existsSync(join(repoRoot(), "dist", "mapectl.cjs")))
    return "dist/mapectl.cjs is missing: run npm run build";
  const problems = labPreflight();
  return problems.length > 0 ? `lab not runnable here: ${problems.join("; ")}` : false;
}
