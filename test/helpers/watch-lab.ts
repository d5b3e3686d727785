import assert from "node:assert/strict";
import { CE, NGN, NS } from "../../lab/addresses.ts";
import type { Lab } from "../../lab/lab.ts";
import { v6migAnswer } from "../../lab/ngn-config.ts";
import type { ReferenceCeConfig } from "../../lab/reference-ce.ts";
import { hostView } from "../../lab/traffic.ts";

// What test/lab/watch.test.ts reads from the CE and the VyOS-owned tunnel it builds by hand.

/** Both BIGLOBE /56s of the same /38 rule: 133.209.13.2 PSID 65 and 133.209.13.3 PSID 66. */
export const FIRST = { prefix: "2404:7a82:4d02:4100::/56", ipv4: "133.209.13.2", psid: 65 };
export const SECOND = { prefix: "2404:7a82:4d03:4200::/56", ipv4: "133.209.13.3", psid: 66 };
export type Line = typeof FIRST;

/** The provisioning answer's TTL in the HB46PP tests: short enough to see it expire. */
export const TTL = 8;
/** The network's HB46PP answer for a prefix, with that short TTL (or another). */
export const hb46ppAnswer = (prefix: string, ttl = TTL) => ({ ...v6migAnswer(prefix), ttl });

export interface Status {
  applied: boolean;
  inSync: boolean;
  drift: string[];
  parameters: { source?: string; ipv4Address?: string } | null;
  events: { message: string }[];
}

export async function status(l: Lab): Promise<Status> {
  const r = await l.mapectl(NS.ce, ["status", "--json"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

/** Only the new CE's address, tunnel, IPv4 and NAT: nothing of `old` anywhere. */
export async function assertOnly(l: Lab, now: Line, old: Line): Promise<void> {
  const view = await hostView(l);
  const wanGlobal = (view.addresses ?? []).filter((a) => a.startsWith(`${CE.wan} `) && a.endsWith(" global"));
  assert.equal(wanGlobal.length, 1, `one global address on wan0: ${wanGlobal.join(", ")}`);
  assert.ok(wanGlobal[0]?.startsWith(`${CE.wan} ${now.prefix.slice(0, 17)}`), wanGlobal[0]);
  const tunnel = (view.links ?? []).find((t) => t.startsWith("mape "));
  assert.ok(tunnel?.includes(now.prefix.slice(0, 17)) === true, `tunnel from the new CE address: ${tunnel}`);
  const v4 = (view.addresses ?? []).filter((a) => a.startsWith("mape ") && a.includes("."));
  assert.deepEqual(v4, [`mape ${now.ipv4}/32 global`]);
  assert.ok(
    (view.routes ?? []).includes("main unicast default mape  77 10"),
    "the IPv4 default route is there after the one converge",
  );
  const everything = JSON.stringify(view) + JSON.stringify((await l.snapshot(NS.ce)).nft);
  assert.ok(!everything.includes(old.ipv4), `${old.ipv4} left on the CE`);
  assert.ok(!everything.includes(old.prefix.slice(0, 17)), `${old.prefix} left on the CE`);
  const conntrack = (await l.exec(NS.ce, ["conntrack", "-L", "-n"])).stdout;
  assert.ok(!conntrack.includes(old.ipv4), `NAT entries of ${old.ipv4} left in conntrack`);
}

/**
 * HB46PP requests of a daemon left alone: about every TTL seconds, to the /config path, asking for
 * the capability this CE runs (map_e), each sending back the server's token (64 hex) of the last.
 */
export function assertRenewals(requests: readonly Record<string, unknown>[]): void {
  const times = requests.map((r) => Number(r.t));
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
    assert.ok(gap >= TTL - 1 && gap <= TTL + 10, `${gap.toFixed(1)} s between requests, TTL ${TTL} s`);
  }
  assert.ok(requests.every((r) => typeof r.path === "string" && r.path.startsWith("/config?vendorid=")));
  const queries = requests.map((r) => r.query as Record<string, string>);
  assert.deepEqual(
    queries.map((q) => q.capability),
    requests.map(() => "map_e"),
  );
  for (let i = 1; i < requests.length; i++) {
    assert.match(String(requests[i - 1]?.token), /^[0-9a-f]{64}$/);
    assert.equal(queries[i]?.token, requests[i - 1]?.token, `request ${i} sends the token back`);
  }
}

/**
 * The CE asked HB46PP again from its address in the new /56 (starting `addressStart`) once that
 * appeared, and never from a link-local address since request `asked`; returns when it first asked.
 * `daemonLog` (the daemon's lines since the change) goes into the failure message.
 */
export async function assertAskedFromNewAddress(
  l: Lab,
  addressStart: string,
  since: { appeared: number; asked: number },
  daemonLog: () => Promise<string[]>,
): Promise<number> {
  const requests = await l.isp.provisioningRequests();
  const fromNew = requests.filter(
    (r) => Number(r.t) >= since.appeared && String(r.src).startsWith(addressStart),
  );
  const recent = requests.slice(-4).map((r) => `${String(r.t)} ${String(r.src)}`);
  assert.ok(
    fromNew.length >= 1,
    `asked again from the CE's new address (the /56 appeared at ${since.appeared}; last requests: ${recent.join(", ")}); daemon:\n${(await daemonLog()).join("\n")}`,
  );
  const linkLocal = requests.slice(since.asked).filter((r) => String(r.src).startsWith("fe80"));
  assert.deepEqual(linkLocal, [], "never asked from a link-local address");
  return Number(fromNew[0]?.t);
}

/** No MAP-E left on the CE: no tunnel, no NAT, no CE address. */
export async function assertMapeGone(l: Lab): Promise<void> {
  const view = await hostView(l);
  assert.ok(!(view.links ?? []).some((x) => x.startsWith("mape ")), "the tunnel is gone");
  assert.ok(!(view.nft ?? []).some((x) => x.includes("mapectl")), "the NAT is gone");
  assert.ok(!(view.addresses ?? []).some((x) => x.startsWith(`${CE.wan} 2404:`)), "the CE address is gone");
}

/** What VyOS makes from `render --target vyos`'s set commands: tun0, the CE /128, static routes. */
export async function vyosOwnedTunnel(l: Lab, config: ReferenceCeConfig): Promise<void> {
  const batch = [
    `link add name tun0 type ip6tnl mode ip4ip6 remote ${config.br} local ${config.ceAddress} dev ${CE.wan} encaplimit none`,
    "link set tun0 mtu 1460 up",
    `addr add ${config.ceAddress}/128 dev ${CE.wan} nodad`,
    `route add ${config.br}/128 via ${NGN.routerLinkLocal} dev ${CE.wan} proto static`,
    `addr add ${config.ipv4}/32 dev tun0`,
    "route add 0.0.0.0/0 dev tun0 proto static metric 20",
  ];
  await l.run(NS.ce, ["ip", "-batch", "-"], { input: batch.join("\n") + "\n" });
}

/** What VyOS changes in place when the user pastes the new prefix's set commands. */
export async function vyosPasted(l: Lab, first: ReferenceCeConfig, second: ReferenceCeConfig): Promise<void> {
  const change = ["tunnel", "change", "tun0", "mode", "ip4ip6", "remote", second.br];
  await l.run(NS.ce, ["ip", "-6", ...change, "local", second.ceAddress, "dev", CE.wan, "encaplimit", "none"]);
  // the new addresses before the old ones go: the last IPv4 address takes tun0's routes with it
  const paste = [
    `addr add ${second.ceAddress}/128 dev ${CE.wan} nodad`,
    `addr add ${second.ipv4}/32 dev tun0`,
    `addr del ${first.ipv4}/32 dev tun0`,
    `addr del ${first.ceAddress}/128 dev ${CE.wan}`,
  ];
  await l.run(NS.ce, ["ip", "-batch", "-"], { input: paste.join("\n") + "\n" });
}

/** VyOS's part of the CE: its tunnels (name and local address) and its IPv4 and BR routes. */
export async function vyosPart(l: Lab, br: string): Promise<{ tunnels: string[]; routes: string }> {
  const links = JSON.parse(await l.run(NS.ce, ["ip", "-j", "-d", "link", "show", "type", "ip6tnl"])) as {
    ifname: string;
    linkinfo?: { info_data?: { local?: string; remote?: string } };
  }[];
  const routes = await l.run(NS.ce, ["ip", "-4", "route", "show"]);
  const brRoute = await l.run(NS.ce, ["ip", "-6", "route", "show", `${br}/128`]);
  return {
    tunnels: links
      .filter((k) => k.ifname !== "ip6tnl0")
      .map((k) => `${k.ifname} ${k.linkinfo?.info_data?.local ?? ""}`),
    routes: `${routes.trim()}\n${brRoute.trim()}`,
  };
}
