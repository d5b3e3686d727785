import assert from "node:assert/strict";
import { test } from "node:test";
import { deadCeAddress, hb46ppSource } from "../../../src/daemon/converge.ts";
import { checkable } from "../../../src/daemon/target-choice.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { parseIpv6Prefix } from "../../../src/mape/ipv6.ts";
import type { PlanContext } from "../../../src/plan/desired.ts";
import type { HostState } from "../../../src/plan/observed.ts";
import type { AppliedState } from "../../../src/plan/reconcile.ts";
import { planFor } from "../../helpers/plans.ts";

const OLD = planFor("2404:7a82:4d02:4100::/56");
const previous: AppliedState = {
  schemaVersion: 1,
  appliedAt: "2026-01-01T00:00:00.000Z",
  plan: OLD,
  nftScript: "",
  replacedDefaults: [],
  enabledForwarding: false,
};

function host(ceOnWan: boolean): HostState {
  return {
    links: [],
    addresses: ceOnWan
      ? [
          {
            dev: "wan0",
            family: 6,
            address: OLD.ceAddress,
            prefixLength: 128,
            scope: "global",
            tentative: false,
            dadFailed: false,
            temporary: false,
            deprecated: false,
          },
        ]
      : [],
    routes: [],
    ipv4Forwarding: true,
    nftTable: null,
  };
}

function context(prefix: string, widen = false): PlanContext {
  return { wan: "wan0", prefix: parseIpv6Prefix(prefix), widen, prefixFrom: "test", gateway: "fe80::1" };
}

test("deadCeAddress: the old CE address goes first once another prefix is delegated", () => {
  const early = deadCeAddress(previous, host(true), context("2404:7a82:4d03:4200::/56"));
  assert.deepEqual(early?.apply.argv, ["ip", "-6", "addr", "del", `${OLD.ceAddress}/128`, "dev", "wan0"]);
});

test("deadCeAddress: not while the prefix is the same, the address is gone, or only a /64 was seen", () => {
  assert.equal(deadCeAddress(previous, host(true), context("2404:7a82:4d02:4100::/56")), null);
  assert.equal(deadCeAddress(previous, host(false), context("2404:7a82:4d03:4200::/56")), null);
  assert.equal(deadCeAddress(previous, host(true), context("2404:7a82:4d03:4200::/64", true)), null);
  assert.equal(deadCeAddress(null, host(true), context("2404:7a82:4d03:4200::/56")), null);
});

test("hb46ppSource: a global address of the delegated prefix past DAD, never a link-local or tentative one", () => {
  const prefix = parseIpv6Prefix("2404:7a82:4d02:4100::/56");
  const address = (dev: string, a: string, extra: Partial<HostState["addresses"][number]> = {}) => ({
    dev,
    family: 6 as const,
    address: a,
    prefixLength: 64,
    scope: a.startsWith("fe80") ? "link" : "global",
    tentative: false,
    dadFailed: false,
    temporary: false,
    deprecated: false,
    ...extra,
  });
  const base = host(false);
  const lanTentative = address("lan0", "2404:7a82:4d02:4100::1", { tentative: true });
  assert.equal(
    hb46ppSource({ ...base, addresses: [address("wan0", "fe80::1"), lanTentative] }, prefix),
    null,
  );
  // an address of the previous prefix does not count either
  assert.equal(
    hb46ppSource({ ...base, addresses: [address("lan0", "2404:7a82:4d03:4200::1")] }, prefix),
    null,
  );
  assert.equal(
    hb46ppSource({ ...base, addresses: [{ ...lanTentative, tentative: false }] }, prefix),
    "2404:7a82:4d02:4100::1",
  );
});

test("checkable: nft -c sees the fast path once the tunnel exists; before, the rest of the table", () => {
  const fast = planFor("2404:7a82:4d02:4100::/56", { fastPath: true, allocator: "round-robin" });
  const script = renderNftables(fast);
  assert.match(script, /flowtable fastpath/);
  const before = checkable(fast, host(false), script);
  assert.doesNotMatch(before, /flowtable|flow add/);
  assert.equal(before, renderNftables({ ...fast, fastPath: false }));
  const mape = { name: "mape", index: 9, mtu: 1460, up: true, kind: "ip6tnl", tunnel: null, stats: null };
  assert.equal(checkable(fast, { ...host(false), links: [mape] }, script), script);
  assert.equal(checkable(OLD, host(false), renderNftables(OLD)), renderNftables(OLD));
});
