import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new empty directory in the system's temporary directory, named mapectl-<what>-XXXXXX. */
export function tempDir(what: string): string {
  return mkdtempSync(join(tmpdir(), `mapectl-${what}-`));
}

/**
 * What an attacker plants: a file "precious\n" at <dir>/victim and a symbolic link to it at `link`.
 * Returns the victim's path, to prove it was neither written through nor removed.
 */
export function plantLink(dir: string, link: string): string {
  const victim = join(dir, "victim");
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, link);
  return victim;
}
