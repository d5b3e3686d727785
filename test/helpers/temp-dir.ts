import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new empty directory in the system's temporary directory, named mapectl-<what>-XXXXXX. */
export function tempDir(what: string): string {
  return mkdtempSync(join(tmpdir(), `mapectl-${what}-`));
}
