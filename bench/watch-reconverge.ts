// The daemon's figures, measured in one lab boot (real kernel under QEMU):
//  - reconverge: from the new delegated /56 appearing on the CE (the unreachable route, as
//    `ip -ts monitor route` timestamps it) to the first new TCP connection from lan that completes
//    through MAP-E, for several prefix changes; goal under 2 s;
//  - a compressed day: prefix changes, link flaps and HB46PP TTL expiries in a loop for a few
//    minutes (MAPECTL_SOAK_SECONDS, default 240): no crash, nothing leaked (tunnels, addresses,
//    routes, nft tables: the host compared with itself before the loop), the daemon's RSS over time
//    and its heap after each full collection (node --trace-gc), which tells growth from GC slack.
// Times of the reconverge figure are the guest's clock on both ends. Under TCG on a shared 2-core
// machine the absolute figure is pessimistic: every `ip` or `nft` is 0.1–1 s there.
import { CE, INET, NGN, NS } from "../lab/addresses.ts";
import { bootBenchLab } from "../lab/bench-lab.ts";
import { connectMany } from "../lab/clients.ts";
import { v6migAnswer } from "../lab/ngn-config.ts";
import {
  firstSuccessAfter,
  guestNow,
  hostView,
  startProbe,
  startRouteMonitor,
  startWatch,
  type WatchDaemon,
} from "../lab/traffic.ts";
import { waitFor } from "../lab/wait.ts";

// Three BIGLOBE /56s of one /38 rule: 133.209.13.2 PSID 65, .13.3 PSID 66, .13.4 PSID 67.
const PREFIXES = [
  "2404:7a82:4d02:4100::/56",
  "2404:7a82:4d03:4200::/56",
  "2404:7a82:4d04:4300::/56",
] as const;
const prefixAt = (i: number): string => PREFIXES[i % PREFIXES.length] ?? PREFIXES[0];
const CHANGES = Number(process.env.MAPECTL_RECONVERGE_CHANGES ?? "6");
const SOAK_SECONDS = Number(process.env.MAPECTL_SOAK_SECONDS ?? "240");
const TTL = 5;

const lab = await bootBenchLab("watch-reconverge");
const results: Record<string, unknown> = { bench: "watch-reconverge" };
const escape = (text: string) => text.replace(/[/.]/g, "\\$&");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
const round = (v: number) => Number(v.toFixed(2));

async function changePrefix(watch: WatchDaemon, prefix: string, ttl?: number): Promise<string> {
  const from = (await watch.log()).length;
  await lab.isp.setPrefix(
    prefix,
    undefined,
    ttl === undefined ? undefined : (p) => ({ ...v6migAnswer(p), ttl }),
  );
  return watch.waitForLine(new RegExp(`prefix changed: now ${escape(prefix)}`), 120_000, from);
}

try {
  const routes = await startRouteMonitor(lab);

  // reconverge
  let watch = await startWatch(lab, ["--periodic", "60"]);
  await watch.waitForLine(/start: applied/, 120_000);
  const probe = await startProbe(lab, INET.hosts[1], INET.manyPort, 0.05, 1.5);
  await waitFor("the probe to get through", 30_000, async () =>
    (await probe.records()).some((r) => r.ok) ? true : null,
  );
  const samples: {
    prefix: string;
    seconds: number;
    convergeSeconds: number | null;
    newAddressSeen: boolean;
  }[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const prefix = prefixAt(i + 1);
    console.error(`bench: prefix change ${i + 1}/${CHANGES} to ${prefix}`);
    await lab.clearRecords();
    const since = await guestNow(lab);
    const line = await changePrefix(watch, prefix);
    const appeared = await waitFor("the /56 in the route monitor", 10_000, () =>
      routes.appeared(prefix, since),
    );
    const first = await waitFor("a new connection through the new path", 30_000, async () =>
      firstSuccessAfter(await probe.records(), appeared),
    );
    const ipv4 = /IPv4 (\d+\.\d+\.\d+\.\d+)/.exec(line)?.[1] ?? "?";
    await sleep(1000);
    const records = (await lab.records()).filter((r) => r.proto === "tcp" && r.t >= appeared);
    samples.push({
      prefix,
      seconds: round(first.done - appeared),
      convergeSeconds: Number(/ in (\d+\.\d) s/.exec(line)?.[1] ?? "NaN") || null,
      newAddressSeen: records.length > 0 && records.every((r) => r.src === ipv4),
    });
  }
  await probe.stop();
  const seconds = samples.map((s) => s.seconds);
  results.reconverge = {
    samples,
    medianSeconds: round(median(seconds)),
    minSeconds: round(Math.min(...seconds)),
    maxSeconds: round(Math.max(...seconds)),
    underGoal: Number((seconds.filter((s) => s < 2).length / seconds.length).toFixed(2)),
    goal: "< 2 s from the new /56 on the WAN to the first new connection through MAP-E",
  };
  await watch.stop();

  // a compressed day, with parameters from HB46PP so that its TTL expires too
  console.error(`bench: soak for ${SOAK_SECONDS} s`);
  if (lab.prefix !== PREFIXES[0])
    await lab.isp.setPrefix(PREFIXES[0], undefined, (p) => ({ ...v6migAnswer(p), ttl: TTL }));
  await lab.isp.setProvisioning({ ...v6migAnswer(lab.prefix), ttl: TTL });
  // --trace-gc: the heap after each full collection, which RSS (allocator and JIT slack) hides
  watch = await startWatch(lab, ["--source", "hb46pp", "--resolver", NGN.dns, "--periodic", "20"], {
    nodeArgs: ["--trace-gc"],
  });
  await watch.waitForLine(/start: /, 120_000);
  await sleep(3000);
  const baseline = await hostView(lab);
  const rss: number[] = [await watch.rssKiB()];
  const heapAfterGc = async (): Promise<number[]> =>
    (await watch.log()).flatMap((l) => {
      const m = /Mark-Compact[^>]*-> ([\d.]+) \(/.exec(l);
      return m === null ? [] : [Number(m[1])];
    });
  const fullGcsBefore = (await heapAfterGc()).length;
  const started = Date.now();
  let cycles = 0;
  let prefixChanges = 0;
  let flaps = 0;
  while (Date.now() - started < SOAK_SECONDS * 1000) {
    for (const prefix of [PREFIXES[1], PREFIXES[2], PREFIXES[0]]) {
      await changePrefix(watch, prefix, TTL);
      prefixChanges++;
    }
    const from = (await watch.log()).length;
    await lab.run(NS.ce, ["ip", "link", "set", CE.wan, "down"]);
    await sleep(1000);
    await lab.run(NS.ce, ["ip", "link", "set", CE.wan, "up"]);
    await watch.waitForLine(/ applied .*ce-address/, 60_000, from);
    flaps++;
    cycles++;
    rss.push(await watch.rssKiB());
  }
  await sleep(TTL * 1000 + 2000);
  const after = await hostView(lab);
  const log = await watch.log();
  const heap = await heapAfterGc();
  const leaked = Object.fromEntries(
    Object.keys(baseline).map((key) => [
      key,
      {
        added: (after[key] ?? []).filter((x) => !(baseline[key] ?? []).includes(x)),
        removed: (baseline[key] ?? []).filter((x) => !(after[key] ?? []).includes(x)),
      },
    ]),
  );
  const clean = Object.values(leaked).every((d) => d.added.length === 0 && d.removed.length === 0);
  const exit = await watch.exit();
  const probeAfter = await connectMany(lab, 20, INET.hosts[0]);
  results.soak = {
    seconds: Math.round((Date.now() - started) / 1000),
    cycles,
    prefixChanges,
    linkFlaps: flaps,
    ttlRenewals: log.filter((l) => /provisioning TTL expired/.test(l)).length,
    hb46ppRequests: (await lab.isp.provisioningRequests()).length,
    crashed: exit !== null,
    errorLines: log.filter((l) => / error: /.test(l)),
    warningLines: log.filter((l) => / warning: /.test(l)).length,
    otherLines: log.filter(
      (l) => !/^\d{4}-\d\d-\d\dT\S+Z (info|warning|error): /.test(l) && !/^\[\d+:0x/.test(l),
    ),
    hostSameAsBefore: clean,
    ...(clean ? {} : { leaked }),
    rssKiB: { start: rss[0], end: rss.at(-1), max: Math.max(...rss), samples: rss },
    rssRatio: Number(((rss.at(-1) ?? 0) / (rss[0] ?? 1)).toFixed(2)),
    heapAfterFullGcMB: (() => {
      const during = heap.slice(fullGcsBefore);
      return {
        first: during[0] ?? null,
        last: during.at(-1) ?? null,
        max: Math.max(...during),
        collections: during.length,
      };
    })(),
    pathAfter: `${probeAfter.ok}/20 new connections`,
    note: "a real day has a prefix change or two, a flap or two and 24 TTL expiries (TTL 1 h); this loop compresses many of each",
  };
  await watch.stop();
  await routes.stop();
} finally {
  await lab.shutdown();
}
console.log(JSON.stringify(results, null, 2));
