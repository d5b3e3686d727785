import { parse as parseToml } from "smol-toml";
import * as z from "zod/mini";
import { MapectlError } from "../mape/errors.ts";
import { parseBr, parseFixedIpv4, parseInterfaceId } from "../provision/ipip.ts";
import { checkUpdateUrl, MAX_UPDATE_INTERVAL, MIN_UPDATE_INTERVAL } from "../provision/ipip-update.ts";
import { oneLine } from "../text/one-line.ts";
import type { IpipSettingsFields } from "./settings.ts";

/** The [ipip] table of config.toml. */
export const ipipSchema = z.strictObject({
  ipv4: z.optional(z.string()),
  br: z.optional(z.string()),
  "interface-id": z.optional(z.string()),
  "update-url": z.optional(z.string()),
  "update-interval": z.optional(
    z.int().check(z.minimum(MIN_UPDATE_INTERVAL), z.maximum(MAX_UPDATE_INTERVAL)),
  ),
  user: z.optional(z.string()),
  password: z.optional(z.string()),
  "credentials-file": z.optional(z.string()),
});
export type IpipTable = z.infer<typeof ipipSchema>;

class IpipConfigError extends MapectlError {
  constructor(message: string) {
    super("config", oneLine(message));
    this.name = "IpipConfigError";
  }
}

/** The user's ID: printable, no spaces, so it cannot break a URL or a log line. */
export function userProblem(user: string): string | null {
  if (user.length === 0 || user.length > 128) return "must be 1 to 128 characters";
  if (/[\s\p{C}]/u.test(user)) return "must not contain spaces or control characters";
  return null;
}

/** The password's shape only; the message never includes it. */
export function passwordProblem(password: string): string | null {
  if (password.length === 0 || password.length > 256) return "must be 1 to 256 characters";
  if (/[\p{Cc}]/u.test(password)) return "must not contain control characters";
  return null;
}

function checked<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new IpipConfigError(`${where}: ${(err as Error).message}`);
  }
}

/** [ipip] → settings, each value checked as it will be used; a bad password is named, never shown. */
export function ipipSettings(t: IpipTable, file: string): Partial<IpipSettingsFields> {
  const out: { -readonly [K in keyof IpipSettingsFields]?: IpipSettingsFields[K] } = {};
  if (t.ipv4 !== undefined) {
    const v4 = t.ipv4;
    checked(`${file}: ipip.ipv4`, () => parseFixedIpv4(v4, "the configuration"));
    out.ipv4 = v4;
  }
  if (t.br !== undefined)
    out.br = checked(`${file}: ipip.br`, () => parseBr(t.br ?? "", "the configuration"));
  if (t["interface-id"] !== undefined) {
    const id = t["interface-id"];
    out.interfaceId = checked(`${file}: ipip.interface-id`, () => parseInterfaceId(id, "the configuration"));
  }
  if (t["update-url"] !== undefined)
    out.updateUrl = checkUpdateUrl(t["update-url"], `${file}: ipip.update-url`);
  if (t["update-interval"] !== undefined) out.updateInterval = t["update-interval"];
  if (t.user !== undefined) {
    const why = userProblem(t.user);
    if (why !== null) throw new IpipConfigError(`${file}: ipip.user ${why}`);
    out.user = t.user;
  }
  if (t.password !== undefined) {
    const why = passwordProblem(t.password);
    if (why !== null) throw new IpipConfigError(`${file}: ipip.password ${why}`);
    out.password = t.password;
  }
  if (t["credentials-file"] !== undefined) out.credentialsFile = t["credentials-file"];
  return out;
}

const credentialsSchema = z.strictObject({ user: z.optional(z.string()), password: z.string() });

/**
 * A credentials file: TOML with `password = "…"` and optionally `user = "…"`. Errors name the file
 * and the key, never a value (smol-toml's own messages quote the line, so they are not passed on).
 */
export function parseCredentials(text: string, file: string): { user: string | null; password: string } {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch {
    throw new IpipConfigError(`${file}: not valid TOML (want user = "…" and password = "…")`);
  }
  const result = credentialsSchema.safeParse(doc);
  if (!result.success) {
    const keys = result.error.issues.map((i) => i.path.join(".") || "top level").join(", ");
    throw new IpipConfigError(`${file}: want user = "…" and password = "…" only (wrong: ${keys})`);
  }
  const { user, password } = result.data;
  const why = passwordProblem(password);
  if (why !== null) throw new IpipConfigError(`${file}: password ${why}`);
  if (user !== undefined) {
    const bad = userProblem(user);
    if (bad !== null) throw new IpipConfigError(`${file}: user ${bad}`);
  }
  return { user: user ?? null, password };
}
