import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runHost } from "./host-command.ts";
import { cacheRoot } from "./paths.ts";
import { extractVmlinux } from "./vmlinux.ts";

/** Debian's kernel, unpacked into the cache: never installed on the host. */
export interface LabKernel {
  /** The package, e.g. linux-image-6.1.0-56-amd64. */
  readonly packageName: string;
  /** uname -r inside the guest, e.g. 6.1.0-56-amd64. */
  readonly release: string;
  /** The unpacked package (boot/, lib/modules/<release>/ with modules.dep). */
  readonly root: string;
  readonly modulesDir: string;
  /** The decompressed ELF with a PVH note, booted directly. */
  readonly vmlinux: string;
}

const META_PACKAGE = "linux-image-amd64";

function kernelsDir(): string {
  return join(cacheRoot(), "kernels");
}

/** linux-image-amd64 only depends on the versioned package; that one carries the kernel. */
function resolvePackageName(): string | null {
  const result = runHost(["apt-cache", "depends", META_PACKAGE], { allowFailure: true });
  const match = /Depends:\s*(linux-image-\d\S*-amd64)\b/.exec(result.stdout);
  return match?.[1] ?? null;
}

function readCached(dir: string): LabKernel | null {
  const meta = join(dir, "kernel.json");
  if (!existsSync(meta)) return null;
  return JSON.parse(readFileSync(meta, "utf8")) as LabKernel;
}

function newestCached(): LabKernel | null {
  if (!existsSync(kernelsDir())) return null;
  const names = readdirSync(kernelsDir())
    .filter((name) => name.startsWith("linux-image-"))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  for (const name of names.reverse()) {
    const kernel = readCached(join(kernelsDir(), name));
    if (kernel !== null) return kernel;
  }
  return null;
}

/**
 * Returns the cached kernel of the current linux-image-amd64, downloading and unpacking it on first
 * use. Offline, or with no apt lists, the newest cached kernel serves.
 */
export async function prepareKernel(log: (line: string) => void = () => undefined): Promise<LabKernel> {
  let packageName = resolvePackageName();
  if (packageName === null) {
    const cached = newestCached();
    if (cached !== null) return cached;
    log("lab: apt knows no linux-image-amd64, running apt-get update");
    runHost(["apt-get", "update", "-qq"], { allowFailure: true });
    packageName = resolvePackageName();
    if (packageName === null) {
      throw new Error(
        `apt-cache cannot resolve ${META_PACKAGE}: check /etc/apt/sources.list (Debian main) and run apt-get update`,
      );
    }
  }
  const dir = join(kernelsDir(), packageName);
  const cached = readCached(dir);
  if (cached !== null) return cached;

  log(`lab: fetching ${packageName} (once, into ${dir})`);
  const work = join(kernelsDir(), `.partial-${packageName}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // The sandbox user _apt cannot write into a root-only cache directory.
  runHost(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", packageName], { cwd: work });
  const deb = readdirSync(work).find((name) => name.endsWith(".deb"));
  if (deb === undefined) throw new Error(`apt-get download ${packageName} left no .deb in ${work}`);
  const root = join(work, "root");
  runHost(["dpkg-deb", "-x", join(work, deb), root]);
  rmSync(join(work, deb));
  const releases = readdirSync(join(root, "lib", "modules"));
  const release = releases[0];
  if (release === undefined || releases.length !== 1) {
    throw new Error(`${packageName}: expected one lib/modules/<release>, found ${releases.join(", ")}`);
  }
  // The .deb ships no modules.dep: postinst normally runs depmod.
  runHost(["depmod", "-b", root, release]);
  const format = await extractVmlinux(join(root, "boot", `vmlinuz-${release}`), join(work, "vmlinux"));
  log(`lab: extracted vmlinux (${format}) from vmlinuz-${release}`);
  const kernel: LabKernel = {
    packageName,
    release,
    root: join(dir, "root"),
    modulesDir: join(dir, "root", "lib", "modules", release),
    vmlinux: join(dir, "vmlinux"),
  };
  writeFileSync(join(work, "kernel.json"), JSON.stringify(kernel, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return kernel;
}
