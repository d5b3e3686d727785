import { parse as parseToml } from "smol-toml";
import { interfaceNameProblem } from "./interface-name.ts";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { ipv6Class } from "../mape/address-class.ts";
import { isMapeError, MapeError } from "../mape/errors.ts";
import { INTERFACE_ID_LAYOUTS } from "../mape/interface-id.ts";
import { parseIpv4 } from "../mape/ipv4.ts";
import { checkIdentity, DEFAULT_IDENTITY } from "../provision/hb46pp-request.ts";
import { formatIpv6, parseIpv6 } from "../mape/ipv6.ts";
import { oneLine } from "../text/one-line.ts";
import { DEFAULT_SETTINGS, type Settings } from "./settings.ts";
import { METHOD_CHOICES, unsupportedMethod } from "./method.ts";
import { aftrFromText } from "../provision/dslite.ts";
import { MapectlError } from "../mape/errors.ts";
import { ipipSchema, ipipSettings } from "./ipip-config.ts";

export class ConfigError extends MapectlError {
  constructor(message: string) {
    super("config", oneLine(message));
    this.name = "ConfigError";
  }
}

// zod/mini: the same validation as zod with a fraction of its size on every command's start-up;
// it carries no messages until a locale is configured.
z.config(en());
const int = () => z.int();
const optional = <T extends z.ZodMiniType>(schema: T) => z.optional(schema);
const port = z.int().check(z.minimum(1), z.maximum(65535));
const forwardSchema = z.strictObject({
  protocol: z.enum(["tcp", "udp"]),
  port,
  to: z.string(),
});
const ruleSchema = z.strictObject({
  "ipv6-prefix": z.string(),
  "ipv4-prefix": z.string(),
  "ea-bits": int(),
  "psid-offset": int(),
  "psid-length": optional(int()),
  br: optional(z.string()),
});
const schema = z.strictObject({
  wan: optional(z.string()),
  lan: optional(z.array(z.string())),
  parameters: optional(
    z.strictObject({
      source: optional(z.enum(["tables", "manual", "auto", "hb46pp", "dhcpv6"])),
      method: optional(z.enum(METHOD_CHOICES)),
      aftr: optional(z.string()),
      resolvers: optional(z.array(z.string())),
      "ca-file": optional(z.string()),
      prefix: optional(z.string()),
      "rules-files": optional(z.array(z.string())),
      "interface-id": optional(z.enum(INTERFACE_ID_LAYOUTS)),
      br: optional(z.string()),
      rule: optional(ruleSchema),
    }),
  ),
  tunnel: optional(
    z.strictObject({
      name: optional(z.string()),
      mtu: optional(int()),
      gateway: optional(z.string()),
      owner: optional(z.enum(["mapectl", "vyos"])),
    }),
  ),
  routing: optional(
    z.strictObject({
      "default-route-metric": optional(z.int().check(z.minimum(0))),
      "replace-default": optional(z.boolean()),
    }),
  ),
  hb46pp: optional(
    z.strictObject({
      "vendor-id": optional(z.string()),
      product: optional(z.string()),
      version: optional(z.string()),
      user: optional(z.string()),
      pass: optional(z.string()),
    }),
  ),
  forward: optional(z.array(forwardSchema)),
  ipip: optional(ipipSchema),
  nat: optional(
    z.strictObject({
      "tcp-time-wait": optional(int()),
    }),
  ),
});

/** "192.168.1.10:22" → address and port; the port defaults to the outside one. */
export function parseForwardTarget(
  text: string,
  outsidePort: number,
  where: string,
): { toAddress: string; toPort: number } {
  const [address = "", portText, ...rest] = text.split(":");
  if (rest.length > 0) throw new ConfigError(`${where}: "${text}" is not an inside IPv4 address[:port]`);
  try {
    parseIpv4(address);
  } catch {
    throw new ConfigError(`${where}: "${text}" is not an inside IPv4 address[:port]`);
  }
  if (portText === undefined) return { toAddress: address, toPort: outsidePort };
  const toPort = Number(portText);
  if (!/^[0-9]{1,5}$/.test(portText) || toPort < 1 || toPort > 65535) {
    throw new ConfigError(`${where}: port "${portText}" is not a number from 1 to 65535`);
  }
  return { toAddress: address, toPort };
}

/** [hb46pp]: checked as the query would send it, so a bad value fails at load, not at the server. */
function hb46ppIdentity(
  h: Partial<Record<"vendor-id" | "product" | "version" | "user" | "pass", string | undefined>>,
  file: string,
): Settings["hb46pp"] {
  const out: Settings["hb46pp"] = {};
  if (h["vendor-id"] !== undefined) out.vendorId = h["vendor-id"];
  if (h.product !== undefined) out.product = h.product;
  if (h.version !== undefined) out.version = h.version;
  if (h.user !== undefined) out.user = h.user;
  if (h.pass !== undefined) out.pass = h.pass;
  const wrong = checkIdentity({ ...DEFAULT_IDENTITY, ...out });
  // checkIdentity names user and pass without their values
  if (wrong !== null) throw new ConfigError(`${file}: hb46pp: ${wrong}`);
  return out;
}

/**
 * The BR's next hop as given by the user (`--gateway`, `[tunnel] gateway`), in canonical form. It is
 * the WAN's IPv6 default router: a link-local address (as RAs give it) or a global unicast one.
 * Anything else, and any text that is not an address, never reaches a route or a generated file.
 */
export function gatewayAddress(text: string, where: string): string {
  let value: bigint;
  try {
    value = parseIpv6(text);
  } catch (err) {
    if (!isMapeError(err)) throw err;
    throw new MapeError("INVALID_ADDRESS", `${where}: ${oneLine(err.message)}`);
  }
  const kind = ipv6Class(value);
  if (kind !== "a link-local address" && kind !== "a global unicast address") {
    throw new MapeError(
      "INVALID_ADDRESS",
      `${where}: ${text} is ${kind}, not a router: give the WAN's IPv6 default router (fe80::… from ip -6 route show default)`,
    );
  }
  return formatIpv6(value);
}

/** parameters.method and parameters.aftr, refused here when this version cannot use them. */
function methodSettings(
  p: { method?: Settings["method"] | undefined; aftr?: string | undefined },
  file: string,
): Partial<Settings> {
  const out: Partial<Settings> = {};
  if (p.method !== undefined) {
    const why = unsupportedMethod(p.method);
    if (why !== null) throw new ConfigError(`${file}: parameters.method: ${why}`);
    out.method = p.method;
  }
  if (p.aftr !== undefined) {
    try {
      aftrFromText(p.aftr, "configuration");
    } catch (err) {
      throw new ConfigError(`${file}: parameters.aftr: ${(err as Error).message}`);
    }
    out.aftr = p.aftr;
  }
  return out;
}

/** Parses and validates a config.toml; every problem is reported with its key path. */
export function parseConfig(text: string, file: string): Partial<Settings> {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err) {
    const first = (err as Error).message.split("\n")[0] ?? "";
    throw new ConfigError(`${file}: not valid TOML: ${first}`);
  }
  const result = schema.safeParse(doc);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join(".") || "top level"}: ${issue.message}`,
    );
    throw new ConfigError(`${file}: ${problems.join("; ")}`);
  }
  const c = result.data;
  const names: [string, string | undefined][] = [
    ["wan", c.wan],
    ["tunnel.name", c.tunnel?.name],
    ...(c.lan ?? []).map((l, i): [string, string] => [`lan[${i}]`, l]),
  ];
  for (const [key, name] of names) {
    const problem = name === undefined ? null : interfaceNameProblem(key, name);
    if (problem !== null) throw new ConfigError(`${file}: ${problem}`);
  }
  const out: Partial<Settings> = {};
  if (c.wan !== undefined) out.wan = c.wan;
  if (c.lan !== undefined) out.lan = c.lan;
  const p = c.parameters;
  if (p?.source !== undefined) out.source = p.source;
  Object.assign(out, methodSettings(p ?? {}, file));
  if (p?.prefix !== undefined) out.prefix = p.prefix;
  if (p?.resolvers !== undefined) out.resolvers = p.resolvers;
  if (p?.["ca-file"] !== undefined) out.caFile = p["ca-file"];
  if (p?.["rules-files"] !== undefined) out.rulesFiles = p["rules-files"];
  if (p?.["interface-id"] !== undefined) out.interfaceId = p["interface-id"];
  if (p?.br !== undefined) out.overrides = { br: p.br };
  if (p?.rule !== undefined) {
    const r = p.rule;
    out.rule = {
      ipv6Prefix: r["ipv6-prefix"],
      ipv4Prefix: r["ipv4-prefix"],
      eaBits: r["ea-bits"],
      psidOffset: r["psid-offset"],
      psidLength: r["psid-length"],
      br: r.br,
    };
  }
  if (p?.source === "manual" && p.rule === undefined) {
    throw new ConfigError(`${file}: parameters.source = "manual" needs a [parameters.rule] table`);
  }
  if (c.hb46pp !== undefined) out.hb46pp = hb46ppIdentity(c.hb46pp, file);
  if (c.ipip !== undefined) out.ipip = { ...DEFAULT_SETTINGS.ipip, ...ipipSettings(c.ipip, file) };
  if (c.tunnel?.name !== undefined) out.tunnelName = c.tunnel.name;
  if (c.tunnel?.mtu !== undefined) out.mtu = c.tunnel.mtu;
  if (c.tunnel?.gateway !== undefined) {
    try {
      out.gateway = gatewayAddress(c.tunnel.gateway, `${file}: tunnel.gateway`);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  if (c.tunnel?.owner !== undefined) out.tunnelOwner = c.tunnel.owner;
  if (c.routing?.["default-route-metric"] !== undefined)
    out.defaultRouteMetric = c.routing["default-route-metric"];
  if (c.routing?.["replace-default"] !== undefined) out.replaceDefault = c.routing["replace-default"];
  if (c.nat?.["tcp-time-wait"] !== undefined) out.tcpTimeWait = c.nat["tcp-time-wait"];
  if (c.forward !== undefined) {
    out.forwards = c.forward.map((f, i) => ({
      protocol: f.protocol,
      port: f.port,
      ...parseForwardTarget(f.to, f.port, `${file}: forward[${i}].to`),
    }));
  }
  return out;
}
