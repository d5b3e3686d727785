import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { HostRefusal } from "./host-refusal.ts";

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** root, or whoever runs mapectl (tests and --root installs run unprivileged). */
function trustedOwner(uid: number): boolean {
  return uid === 0 || (typeof process.getuid === "function" && uid === process.getuid());
}

/**
 * Refuses a target another user could redirect: the file itself a symbolic link or not a regular
 * file, or a directory (or a link to it) that someone else owns or anyone may write to without
 * the sticky bit, where the file could be swapped between our checks and the rename.
 */
export function assertSafeTarget(path: string): void {
  const dir = dirname(path);
  const link = lstatOrNull(dir);
  if (link === null) throw new HostRefusal(`cannot write ${path}: ${dir} does not exist`);
  if (link.isSymbolicLink() && !trustedOwner(link.uid)) {
    throw new HostRefusal(
      `refusing to write ${path}: ${dir} is a symbolic link owned by uid ${link.uid}, not root; replace it with a directory`,
    );
  }
  const real = statSync(dir);
  if (!real.isDirectory()) throw new HostRefusal(`cannot write ${path}: ${dir} is not a directory`);
  const openToAll = (real.mode & 0o002) !== 0 && (real.mode & 0o1000) === 0;
  if (!trustedOwner(real.uid) || openToAll) {
    throw new HostRefusal(
      `refusing to write ${path}: its directory ${dir} is ${openToAll ? "writable by every user" : `owned by uid ${real.uid}`}; make it root's (chown root: ${dir}; chmod 755 ${dir})`,
    );
  }
  const target = lstatOrNull(path);
  if (target?.isSymbolicLink() === true) {
    throw new HostRefusal(
      `refusing to write ${path}: it is a symbolic link; remove it (mapectl writes a regular file there)`,
    );
  }
  if (target !== null && !target.isFile()) {
    throw new HostRefusal(`refusing to write ${path}: it exists and is not a regular file`);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces the file in one step: written to a fresh file beside it (created exclusively and never
 * through a symbolic link, so nobody can plant a link where it goes), synced, renamed over the
 * target and the directory synced, so a crash or power cut leaves the old file or the new one,
 * never half of either.
 */
export function writeFileAtomic(path: string, content: string | Buffer, mode: number): void {
  assertSafeTarget(path);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  try {
    try {
      const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
      // the umask narrows the mode given to open; the file's mode is part of what is installed
      fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed, or never created
    }
    throw err;
  }
  fsyncDir(dirname(path));
}
