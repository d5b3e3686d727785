import { statSync } from "node:fs";
import { parseCredentials } from "../plan/ipip-config.ts";
import type { Settings } from "../plan/settings.ts";
import { IpipError } from "../provision/ipip.ts";
import { HostError } from "./errors.ts";
import { readTextFile } from "./files.ts";

/**
 * Why a file holding a password may not be used, or null: anyone but its owner (and root) may read
 * it. mapectl refuses rather than fixes it, because the password may already have been read.
 */
export function secretFileProblem(path: string, what: string): string | null {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot read ${what} ${path}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`;
  }
  if ((mode & 0o077) === 0) return null;
  const shown = (mode & 0o777).toString(8).padStart(3, "0");
  return `${what} ${path} holds a password but is mode 0${shown}, readable by others: run chmod 600 ${path} (and change the password if others could read it)`;
}

/** A file holding a password, refused when others may read it. */
export function readSecretFile(path: string, what: string): string {
  const problem = secretFileProblem(path, what);
  if (problem !== null) throw new HostError("FILE_UNREADABLE", problem);
  return readTextFile(path, what);
}

/** The account the update URL is called with; the password only lives in memory. */
export interface IpipAccount {
  readonly user: string;
  readonly password: string;
}

const WHERE_ACCOUNT =
  'user = "…" and password = "…" in [ipip] of the configuration (mode 0600) or in the file named by [ipip] credentials-file (mode 0600); --update-user gives the ID, and the password is never taken from the command line';

/**
 * The account for the update URL: the credentials file's, else the configuration's ([ipip] user,
 * password; --update-user). Missing parts are named with where they go; the password never shown.
 */
export function ipipAccount(settings: Settings): IpipAccount {
  let user = settings.ipip.user;
  let password = settings.ipip.password;
  const file = settings.ipip.credentialsFile;
  if (file !== null) {
    const found = parseCredentials(readSecretFile(file, "the IPIP credentials file"), file);
    password = found.password;
    user = found.user ?? user;
  }
  const missing = [user === null ? "the user ID" : null, password === null ? "the password" : null].filter(
    (m) => m !== null,
  );
  if (user === null || password === null) {
    throw new IpipError(`the provider's update URL needs ${missing.join(" and ")}: give ${WHERE_ACCOUNT}`);
  }
  return { user, password };
}
