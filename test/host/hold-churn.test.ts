import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { isRoot, Netns } from "../helpers/netns.ts";

// The held-churn bench's guest script (bench/guest/hold-churn.py) decides "failed while a port was
// free" by the router's conntrack, read before each new flow (bench/guest/ct-ports.py through a
// real `ip netns exec`): here a namespace where nothing listens on the port, so every flow fails at
// once, and a conntrack table of the test's own that holds 239 or 240 of the 240 ports.

const SCRIPT = fileURLToPath(new URL("../../bench/guest/hold-churn.py", import.meta.url));
const PORT = 9;
let ns: Netns;
let dir: string;

before(() => {
  if (!isRoot()) return;
  ns = new Netns("mapectl-churn");
  dir = mkdtempSync(join(tmpdir(), "mapectl-churn-"));
});
after(() => {
  if (!isRoot()) return;
  ns.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A conntrack listing with `held` NATed flows to 127.0.0.1:PORT, on allocated ports 16 and up. */
function table(held: number): string {
  const path = join(dir, `nf_conntrack-${held}`);
  const lines = Array.from(
    { length: held },
    (_, i) =>
      `ipv4     2 tcp      6 100 ESTABLISHED src=192.168.1.2 dst=127.0.0.1 sport=${40000 + i} dport=${PORT} src=127.0.0.1 dst=203.0.113.5 sport=${PORT} dport=${16 + i} [ASSURED] mark=0 zone=0 use=2`,
  );
  writeFileSync(path, lines.map((l) => `${l}\n`).join(""));
  return path;
}

interface Churn {
  failures: number;
  failedWithFreePort: number;
  failedWithFreePortKernel: number;
  failed: { free: number; kernelFree: number }[];
}

function churn(kernelHeld: number): Churn {
  // nothing held open, two new flows, 240 ports, TIME_WAIT 0.1 s, conntrack read in ns
  const r = ns.run(
    ["python3", SCRIPT, "127.0.0.1", String(PORT), "0", "2", "240", "0.1", ns.name],
    undefined,
    {
      MAPECTL_CT_TABLE: table(kernelHeld),
    },
  );
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Churn;
}

// by the script's own count nothing was ever open (it cannot see the kernel's ports): both failures
// count as with a port free there, and the kernel's count decides
const CASES = [
  {
    kernelHeld: 239,
    kernelFree: 1,
    withFreePort: 2,
    name: "holds 239 of 240 ports counts as one with a free port",
  },
  {
    kernelHeld: 240,
    kernelFree: 0,
    withFreePort: 0,
    name: "holds all 240 does not, whatever the script's count says",
  },
];
for (const c of CASES) {
  test(`a failure while conntrack ${c.name}`, { skip: !isRoot() && "needs root" }, () => {
    const out = churn(c.kernelHeld);
    assert.equal(out.failures, 2);
    assert.equal(out.failedWithFreePort, 2);
    assert.equal(out.failedWithFreePortKernel, c.withFreePort);
    assert.deepEqual(
      out.failed.map((f) => f.kernelFree),
      [c.kernelFree, c.kernelFree],
    );
  });
}
