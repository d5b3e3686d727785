import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI } from "../helpers/run-cli.ts";
import { isRoot, routerNetns, type Netns } from "../helpers/netns.ts";

// A router in a namespace of this machine: WAN with a link-local default router and the PD's
// unreachable route, a LAN, and things of the user's own that mapectl must not touch.
let ns: Netns;
let dir: string;

before(() => {
  if (!isRoot()) return;
  ns = routerNetns("mapectl-up", [
    // the user's own: an on-link route to the BR (the seed's mistake) and an nft table
    "ip -6 route add 2001:260:700:1::1:275/128 dev wan0",
  ]);
  dir = mkdtempSync(join(tmpdir(), "mapectl-host-"));
  ns.ok(
    ["nft", "-f", "-"],
    "table inet userfw {\n chain input {\n type filter hook input priority 0; policy accept;\n tcp dport 22 accept\n }\n}\n",
  );
  // An nft that checks fine but refuses to load: the failure injected at the last step.
  const fake = join(dir, "bin");
  writeFileSync(
    join(dir, "nft-refuses"),
    `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-c" ] && exec /usr/sbin/nft "$@"; done\nif [ "$1" = "-f" ]; then echo "Error: Could not process rule: No buffer space available (injected)" >&2; exit 1; fi\nexec /usr/sbin/nft "$@"\n`,
  );
  chmodSync(join(dir, "nft-refuses"), 0o755);
  ns.ok(["mkdir", "-p", fake]);
  ns.ok(["ln", "-s", join(dir, "nft-refuses"), join(fake, "nft")]);
  ns.waitForDad();
});

after(() => {
  if (isRoot()) ns.destroy();
});

function mapectl(args: string[], extraPath?: string) {
  return ns.run([process.execPath, CLI, ...args], undefined, {
    MAPECTL_STATE_DIR: join(dir, "state"),
    PATH: `${extraPath === undefined ? "" : `${extraPath}:`}/usr/sbin:/usr/bin:/sbin:/bin`,
  });
}

test(
  "a failure halfway through up leaves the host exactly as before",
  { skip: !isRoot() && "needs root" },
  () => {
    const beforeSnap = ns.snapshot();
    const r = mapectl(["up", "--wan", "wan0", "--lan", "lan0", "--nodad"], join(dir, "bin"));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /failed: .*rolled back \d+ changes?, the host is as before/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.equal(ns.snapshot(), beforeSnap);
    // nothing recorded as applied
    const status = mapectl(["status", "--json"]);
    assert.equal((JSON.parse(status.stdout) as { applied: boolean }).applied, false);
  },
);

test(
  "up --dry-run prints the commands and the nft script and changes nothing",
  { skip: !isRoot() && "needs root" },
  () => {
    const beforeSnap = ns.snapshot();
    const r = mapectl(["up", "--wan", "wan0", "--lan", "lan0", "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      schemaVersion: number;
      dryRun: boolean;
      actions: { id: string; argv: string[]; input?: string }[];
    };
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.dryRun, true);
    assert.ok(doc.actions.some((a) => a.id === "tunnel" && a.argv.includes("encaplimit")));
    assert.ok(
      doc.actions.some(
        (a) => a.id === "nat" && a.input?.includes("tcp sport set tcp sport map @fold-port") === true,
      ),
    );
    assert.equal(ns.snapshot(), beforeSnap);
  },
);

test(
  "bad environments get one line and their documented exit status",
  { skip: !isRoot() && "needs root" },
  () => {
    let r = mapectl(["up", "--wan", "nosuch0", "--dry-run"]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /^mapectl: interface nosuch0 does not exist/);
    r = mapectl(["up", "--wan", "lan0", "--dry-run"]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /no IPv6 default router on lan0/);
    r = mapectl(["up", "--dry-run"]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /no WAN interface/);
    r = mapectl(["up", "--wan", "wan0", "--forward", "tcp/80=192.168.1.10", "--dry-run"]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      /tcp\/80 is outside this line's port set.*nearest allowed ports are 5151 or 9232|nearest allowed ports are 5136/,
    );
    // no ip on PATH at all: say which package to install
    const noTools = ns.run([process.execPath, CLI, "up", "--wan", "wan0", "--dry-run"], undefined, {
      PATH: "/nonexistent",
      MAPECTL_STATE_DIR: join(dir, "state"),
    });
    assert.equal(noTools.code, 5, noTools.stderr);
    assert.match(noTools.stderr, /ip is not installed.*iproute2/);
    for (const out of [r.stderr, noTools.stderr]) assert.doesNotMatch(out, /\n\s+at /);
  },
);
