import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { HostError } from "./errors.ts";

/**
 * The most a configuration, rules or CA file may hold. The shipped table of every known Japanese
 * MAP-E rule is about 70 KB and a configuration a few hundred bytes; 1 MiB leaves room for any real
 * file while a wrong path (a log, a disk image, /dev/zero) is refused before it is read into memory.
 */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

function unreadable(path: string, what: string, why: string): HostError {
  return new HostError("FILE_UNREADABLE", `cannot read ${what} ${path}: ${why}`);
}

/** Why a file of this kind and size is not read, or null. */
function refusal(stats: Stats): string | null {
  if (stats.isDirectory()) return "it is a directory";
  if (!stats.isFile()) return "not a regular file (a device, pipe or socket is never read)";
  if (stats.size > MAX_INPUT_FILE_BYTES)
    return `it is ${stats.size} bytes, more than the ${MAX_INPUT_FILE_BYTES} bytes any such file needs`;
  return null;
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return (err as Error).message;
}

/**
 * Reads a whole text file, turning the usual failures into one line that names the file. Its kind
 * and size are checked before it is opened (opening a FIFO would block) and again on the open file;
 * the read stops at the limit, so a file growing meanwhile cannot exceed it either.
 */
export function readTextFile(path: string, what: string): string {
  let fd: number;
  try {
    const before = refusal(statSync(path));
    if (before !== null) throw unreadable(path, what, before);
    fd = openSync(path, "r");
  } catch (err) {
    if (err instanceof HostError) throw err;
    throw unreadable(path, what, describe(err));
  }
  try {
    const after = refusal(fstatSync(fd));
    if (after !== null) throw unreadable(path, what, after);
    const buffer = Buffer.alloc(MAX_INPUT_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_INPUT_FILE_BYTES)
        throw unreadable(path, what, `it grew past ${MAX_INPUT_FILE_BYTES} bytes while being read`);
    }
    return buffer.subarray(0, length).toString("utf8");
  } catch (err) {
    if (err instanceof HostError) throw err;
    throw unreadable(path, what, describe(err));
  } finally {
    closeSync(fd);
  }
}
