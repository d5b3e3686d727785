import { parseConntrack, type NatFlow } from "../plan/port-usage.ts";
import { runChecked, type CommandRunner } from "./command-runner.ts";
import { isHostError } from "./errors.ts";

const TIMEOUT_MS = 10_000;

/**
 * The NATed flows of an address from `conntrack -L`. `onlyReplyTo`: let conntrack itself keep only
 * the entries whose reply goes to the address (`-q`), which is much less text on a busy router.
 * Throws HostError; reading needs root or CAP_NET_ADMIN (see needsPrivilege).
 */
export async function listNatFlows(
  runner: CommandRunner,
  ipv4Address: string,
  options: { onlyReplyTo?: boolean } = {},
): Promise<NatFlow[]> {
  const argv = ["conntrack", "-L", "-n", ...(options.onlyReplyTo === true ? ["-q", ipv4Address] : [])];
  return parseConntrack(await runChecked(runner, argv, { timeoutMs: TIMEOUT_MS }), ipv4Address);
}

/** listNatFlows, or null when conntrack cannot be read (not installed, no privilege). */
export async function readNatFlows(
  runner: CommandRunner,
  ipv4Address: string,
  options: { onlyReplyTo?: boolean } = {},
): Promise<NatFlow[] | null> {
  try {
    return await listNatFlows(runner, ipv4Address, options);
  } catch {
    return null;
  }
}

/** True when conntrack failed because the caller lacks the privilege to read the table. */
export function needsPrivilege(err: unknown): boolean {
  return (
    isHostError(err) &&
    err.code === "COMMAND_FAILED" &&
    /not permitted|must be root|CAP_NET_ADMIN/i.test(err.message)
  );
}

/** How many entries `conntrack -D` says it deleted (it says so on stderr); null when it says nothing. */
export function deletedEntries(stderr: string): number | null {
  const match = /(\d+) flow entr(?:y has|ies have) been deleted/.exec(stderr);
  return match === null ? null : Number(match[1]);
}

/**
 * Deletes the entries whose reply goes to the address, all of them or those of one protocol and
 * NATed port. The count conntrack reports (0 when it reports none); null when conntrack could not
 * run (not installed), which callers treat as nothing to flush with.
 */
export async function deleteNatFlows(
  runner: CommandRunner,
  ipv4Address: string,
  only?: { protocol: "tcp" | "udp"; port: number },
): Promise<number | null> {
  const filter = only === undefined ? [] : ["-p", only.protocol];
  const port = only === undefined ? [] : ["--reply-port-dst", String(only.port)];
  try {
    const r = await runner.run(["conntrack", "-D", ...filter, "-q", ipv4Address, ...port], {
      timeoutMs: TIMEOUT_MS,
    });
    return deletedEntries(r.stderr) ?? (only === undefined ? null : 0);
  } catch {
    return null;
  }
}
