import { join } from "node:path";
import type { NamespaceName } from "./addresses.ts";
import type { Lab } from "./lab.ts";
import { logFile } from "./topology.ts";

export interface Capture {
  /** Host path of the pcap (in the results folder); readable while the capture runs, complete after stop(). */
  readonly file: string;
  stop(): Promise<string>;
}

let captures = 0;

/** tcpdump -U -w on one link; the pcap lands in the lab's results folder on the host. */
export async function capture(
  lab: Lab,
  ns: NamespaceName,
  iface: string,
  filter: readonly string[] = [],
): Promise<Capture> {
  const name = `capture-${++captures}-${ns}-${iface}`;
  const file = join(lab.resultsDir, `${name}.pcap`);
  const pid = await lab.guest.start(
    ns,
    name,
    ["tcpdump", "-n", "-U", "-i", iface, "-w", file, ...filter],
    logFile(name),
  );
  // tcpdump says "listening on" once its socket is open; packets before that are lost.
  await lab.waitForLog(name, /listening on/, 20_000);
  return {
    file,
    stop: async () => {
      await lab.guest.stop(pid, 2000);
      return file;
    },
  };
}
