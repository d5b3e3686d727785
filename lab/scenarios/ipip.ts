import { CE, INET, IPIP_LAB, NGN, NS } from "../addresses.ts";
import {
  ipipHb46ppAnswer,
  ipipLabCeAddress,
  ipipUpdateLog,
  IPIP_UPDATE_URL,
  startIpipProvider,
  unregisterIpip,
} from "../ipip-provider.ts";
import type { Lab } from "../lab.ts";
import { lanTraffic, pingFromLan, pingFromRouter } from "./probes.ts";
import { Checks, nonZero, type Scenario } from "./scenario.ts";

export const IPIP_CONFIG = "/etc/mapectl/config.toml";
const CONFIG = IPIP_CONFIG;
/** A password the update server does not know: it must never show in anything mapectl prints. */
const WRONG_PASSWORD = "wrong-Lab-Secret-7";
const UP = ["up", "--config", CONFIG, "--json"];

/**
 * The CE's configuration (mode 0600): IPIP from HB46PP, the account for the update URL, and how
 * often to call it (null: mapectl's default).
 */
export function ipipCeConfig(password: string, updateInterval: number | null = null): string {
  return [
    `wan = "${CE.wan}"`,
    `lan = ["${CE.lan}"]`,
    "[parameters]",
    'method = "ipip"',
    'source = "hb46pp"',
    `resolvers = ["${NGN.dns}"]`,
    "[ipip]",
    `update-url = "${IPIP_UPDATE_URL}"`,
    `user = "${IPIP_LAB.user}"`,
    `password = "${password}"`,
    ...(updateInterval === null ? [] : [`update-interval = ${updateInterval}`]),
    "",
  ].join("\n");
}

const started = new WeakSet<Lab>();

/** The BR and the update server, started once per lab. */
export async function ipipProviderUp(lab: Lab): Promise<void> {
  if (started.has(lab)) return;
  await startIpipProvider(lab);
  started.add(lab);
}

async function doctorFailures(lab: Lab): Promise<{ code: number; failing: string[] }> {
  const r = await lab.mapectl(NS.ce, ["doctor", "--config", CONFIG, "--json"], { timeoutMs: 120_000 });
  const findings =
    r.code === 0 || r.code === 6
      ? (JSON.parse(r.stdout) as { findings: { id: string; verdict: string }[] }).findings
      : [];
  return { code: r.code, failing: findings.filter((f) => f.verdict === "fail").map((f) => f.id) };
}

async function counter(lab: Lab, name: string): Promise<number> {
  return (await lab.isp.counters())[name]?.packets ?? 0;
}

/** Wrong password: up refuses before changing anything, the path stays down, doctor says why. */
async function wrongAccount(lab: Lab, checks: Checks): Promise<void> {
  await lab.guest.writeFile(CONFIG, ipipCeConfig(WRONG_PASSWORD), 0o600);
  const up = await lab.mapectl(NS.ce, UP, { timeoutMs: 120_000 });
  checks.add(
    "wrong password: up exits 4 saying the update server refused it",
    up.code === 4 && /refused the account \(HTTP 401/.test(up.stderr),
    `exit ${up.code}: ${up.stderr.trim()}`,
  );
  checks.add(
    "the password never shows in what mapectl printed",
    !`${up.stdout}${up.stderr}`.includes(WRONG_PASSWORD),
    "stdout and stderr searched",
  );
  const link = await lab.exec(NS.ce, ["ip", "link", "show", "dev", "ipip"]);
  checks.add("nothing was changed on the router (no tunnel)", link.code !== 0, link.stderr.trim());
  const ping = await pingFromLan(lab, INET.hosts[0], 2);
  checks.add("the IPv4 path stays down", !ping.ok, ping.detail);
  const doctor = await doctorFailures(lab);
  checks.add(
    "doctor's first finding is ipip.update-refused",
    doctor.code === 6 && doctor.failing[0] === "ipip.update-refused",
    `exit ${doctor.code}: ${doctor.failing.join(", ")}`,
  );
}

/** The right account: registered, then IPv4 from the LAN and the router leaves as the fixed address. */
async function rightAccount(lab: Lab, checks: Checks): Promise<boolean> {
  await lab.guest.writeFile(CONFIG, ipipCeConfig(IPIP_LAB.password), 0o600);
  const up = await lab.mapectl(NS.ce, UP, { timeoutMs: 120_000 });
  const doc =
    up.code === 0
      ? (JSON.parse(up.stdout) as { method: string; update?: { kind: string }; plan: { ceAddress: string } })
      : null;
  const ce = ipipLabCeAddress(lab.prefix);
  checks.add(
    "mapectl up: method ipip, CE registered",
    doc?.method === "ipip" && doc.update?.kind === "registered" && doc.plan.ceAddress === ce,
    doc === null
      ? `exit ${up.code}: ${up.stderr.trim()}`
      : `CE ${doc.plan.ceAddress}, update ${doc.update?.kind ?? "none"}`,
  );
  if (doc === null) return false;
  const log = await ipipUpdateLog(lab);
  checks.add(
    "the update server registered the CE address and prefix",
    log.some((e) => e.registered === IPIP_LAB.user && e.ipv6 === ce && e.prefix === lab.prefix),
    JSON.stringify(log.filter((e) => e.registered !== undefined || e.refused !== undefined)),
  );
  await lab.clearRecords();
  await lanTraffic(lab, checks);
  const own = await pingFromRouter(lab);
  checks.add("the router's own ping", own.ok, own.detail);
  const seen = [...new Set((await lab.records()).map((r) => r.src))];
  checks.add(
    `inet saw only the fixed address ${IPIP_LAB.ipv4}`,
    seen.length === 1 && seen[0] === IPIP_LAB.ipv4,
    `sources: ${seen.join(", ")}`,
  );
  const doctor = await doctorFailures(lab);
  checks.add(
    "doctor finds nothing wrong",
    doctor.code === 0,
    `exit ${doctor.code}: ${doctor.failing.join(", ")}`,
  );
  return true;
}

/**
 * A fixed IPv4 address over IPIP, with the provider's update server: a wrong password keeps the path
 * down and doctor says why; the right one registers the CE, and IPv4 from the LAN and the router
 * leaves as the fixed address; a BR that forgets the CE drops its packets again.
 */
export const ipip: Scenario = {
  name: "ipip",
  method: "ipip",
  summary:
    "IPIP with a fixed IPv4 from HB46PP: wrong password refused (path down, doctor says why), right one registered, LAN and router traffic as the fixed address",
  async run(lab) {
    const checks = new Checks();
    await ipipProviderUp(lab);
    await lab.isp.setProvisioning(ipipHb46ppAnswer(lab.prefix));
    await lab.mapectl(NS.ce, ["down"], { timeoutMs: 60_000 });
    await wrongAccount(lab, checks);
    if (await rightAccount(lab, checks)) {
      const before = await counter(lab, "ipip_unregistered");
      await unregisterIpip(lab);
      const ping = await pingFromLan(lab, INET.hosts[0], 2);
      const dropped = (await counter(lab, "ipip_unregistered")) - before;
      checks.add(
        "a BR without the registration drops the CE's packets",
        !ping.ok && dropped >= 2,
        `${ping.detail}; ipip_unregistered +${dropped}`,
      );
    }
    const down = await lab.mapectl(NS.ce, ["down", "--json"], { timeoutMs: 60_000 });
    checks.add("mapectl down", down.code === 0, down.stderr.trim());
    await lab.isp.setProvisioning(null);
    return checks.report("ipip", lab, nonZero(await lab.isp.counters()));
  },
};
