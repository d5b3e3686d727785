import { join } from "node:path";
import { formatIpv6, ipv6Mask, parseIpv6, parseIpv6Prefix } from "../src/mape/ipv6.ts";
import { BR_NS, GUEST, IPIP_LAB, NGN, NS } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import { parseJsonLines } from "./parse-json.ts";
import { softwireEndpointRuleset } from "./softwire-endpoint.ts";
import { logFile } from "./topology.ts";
import { waitFor } from "./wait.ts";

/**
 * The provider's side of a fixed-IPv4 IPIP line: a BR that takes ip4ip6 only from the CE address
 * the update server registered (before that it drops the CE's packets, counted in ipip_unregistered)
 * and accepts inside only the fixed address (ipip_bad_src), and the update server that checks the
 * account and then points the BR's tunnel at the CE (lab/ipip-update-server.mjs, its hook
 * lab/ipip-br-register.sh).
 */
const FILES = {
  config: join(GUEST.runDir, "ipip-update.json"),
  log: join(GUEST.runDir, "ipip-update.jsonl"),
  ruleset: join(GUEST.runDir, "ipip-br.nft"),
} as const;

/** The CE address the provider registered for a line: the prefix's first /64 and the sheet's interface ID. */
export function ipipLabCeAddress(prefix: string): string {
  const p = parseIpv6Prefix(prefix);
  return formatIpv6((p.value & ipv6Mask(Math.min(p.length, 64))) | parseIpv6(`::${IPIP_LAB.interfaceId}`));
}

/** HB46PP's answer for the IPIP line (spec 1.1's ipip[]: ipv6_local, ipv6_remote, ipv4). */
export function ipipHb46ppAnswer(prefix: string): Record<string, unknown> {
  return {
    enabler_name: "mapectl lab VNE",
    service_name: "固定IP",
    ttl: 86400,
    order: ["ipip"],
    ipip: [{ ipv6_local: ipipLabCeAddress(prefix), ipv6_remote: IPIP_LAB.br, ipv4: `${IPIP_LAB.ipv4}/32` }],
  };
}

/** The BR's filter: ip4ip6 to the IPIP BR only from the registered CE, inner source the fixed address. */
function ipipBrRuleset(): string {
  return softwireEndpointRuleset({
    table: "ipipbr",
    address: IPIP_LAB.br,
    unknownCounter: "ipip_unregistered",
    decapCounter: "ipip_decap",
    counters: ["ipip_bad_src", "ipip_encap"],
    // the update server's hook adds the CE it registered (lab/ipip-br-register.sh)
    served: { name: "registered", interval: false, elements: [] },
    chains: [
      "  chain forward {",
      "    type filter hook forward priority 0; policy accept;",
      `    iifname "${IPIP_LAB.tunnel}" ip saddr != ${IPIP_LAB.ipv4} counter name ipip_bad_src drop`,
      `    oifname "${IPIP_LAB.tunnel}" counter name ipip_encap`,
      "  }",
    ],
  });
}

/** The account the update server accepts; `accounts` replaces it (a wrong-password case uses the CE's). */
export async function startIpipProvider(lab: Lab): Promise<void> {
  const { guest, repo } = lab;
  for (const address of [IPIP_LAB.br, IPIP_LAB.updateAddress]) {
    await lab.run(NS.br, ["ip", "-6", "addr", "replace", `${address}/128`, "dev", "lo"]);
  }
  await lab.run(NS.ngn, [
    "ip",
    "-6",
    "route",
    "replace",
    IPIP_LAB.route,
    "via",
    BR_NS.transit,
    "dev",
    NGN.brIface,
  ]);
  // Until a CE is registered the fixed address leads nowhere (not back to inet by the default route).
  await lab.run(NS.br, ["ip", "route", "replace", "blackhole", `${IPIP_LAB.ipv4}/32`]);
  await guest.writeFile(FILES.ruleset, ipipBrRuleset());
  await lab.run(NS.br, ["nft", "-f", FILES.ruleset]);
  await guest.writeFile(FILES.log, "");
  await guest.writeFile(
    FILES.config,
    JSON.stringify({
      listen: IPIP_LAB.updateAddress,
      port: IPIP_LAB.updatePort,
      accounts: { [IPIP_LAB.user]: IPIP_LAB.password },
      log: FILES.log,
      hook: ["sh", join(repo, "lab", "ipip-br-register.sh"), IPIP_LAB.br, IPIP_LAB.tunnel],
      hang: false,
    }),
  );
  await guest.start(
    NS.br,
    "ipip-update",
    [process.execPath, join(repo, "lab", "ipip-update-server.mjs"), FILES.config],
    logFile("ipip-update"),
  );
  await waitFor("the IPIP update server", 30_000, async () =>
    (await guest.readText(FILES.log)).includes("listening") ? true : null,
  );
}

/** Forgets the registered CE: the tunnel goes, the fixed address leads nowhere, the BR drops the CE again. */
export async function unregisterIpip(lab: Lab): Promise<void> {
  await lab.exec(NS.br, ["ip", "link", "del", IPIP_LAB.tunnel]);
  await lab.run(NS.br, ["ip", "route", "replace", "blackhole", `${IPIP_LAB.ipv4}/32`]);
  await lab.run(NS.br, ["nft", "flush", "set", "inet", "ipipbr", "registered"]);
}

/** What the update server saw: registrations and refusals, in order. */
export async function ipipUpdateLog(lab: Lab): Promise<Record<string, unknown>[]> {
  return parseJsonLines(await lab.guest.readText(FILES.log));
}

/** The update URL template the CE is given (the lab's server reads user, pass, ipv6, prefix, ipv4). */
export const IPIP_UPDATE_URL = `http://[${IPIP_LAB.updateAddress}]:${IPIP_LAB.updatePort}/update?user={user}&pass={password}&ipv6={ipv6}&prefix={prefix}&ipv4={ipv4}`;
