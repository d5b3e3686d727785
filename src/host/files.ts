import { readFileSync } from "node:fs";
import { HostError } from "./errors.ts";

/** Reads a whole text file, turning the usual failures into one line that names the file. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (err as Error).message;
    throw new HostError("FILE_UNREADABLE", `cannot read ${what} ${path}: ${why}`);
  }
}
