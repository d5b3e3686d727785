import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ceAddressForIpv4Port,
  ceAddressForIpv4Psid,
  computeParameters,
  readCeAddress,
} from "../../../src/mape/compute.ts";
import { portSets, psidOfPort } from "../../../src/mape/port-set.ts";
import { makeRule } from "../../../src/mape/rule.ts";
import { formatIpv4 } from "../../../src/mape/ipv4.ts";
import { formatIpv6Prefix, ipv6Mask } from "../../../src/mape/ipv6.ts";
import type { InterfaceIdLayout } from "../../../src/mape/interface-id.ts";

test("the port sets of all PSIDs of a rule are disjoint and cover every port they may", () => {
  fc.assert(
    fc.property(
      fc
        .tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 16 }))
        .filter(([a, k]) => a + k <= 16 && k <= 12),
      ([a, k]) => {
        const owner = new Int32Array(65536).fill(-1);
        for (let psid = 0; psid < 2 ** k; psid++) {
          for (const [lo, hi] of portSets(a, k, psid)) {
            for (let port = lo; port <= hi; port++) {
              assert.equal(owner[port], -1, `port ${port} in two sets (a=${a} k=${k})`);
              owner[port] = psid;
              assert.equal(psidOfPort(port, a, k), psid);
            }
          }
        }
        const firstAllowed = a > 0 ? 2 ** (16 - a) : 0;
        for (let port = 0; port < 65536; port++) {
          assert.equal(owner[port] !== -1, port >= firstAllowed, `port ${port} coverage (a=${a} k=${k})`);
        }
      },
    ),
    { numRuns: 60 },
  );
});

/** Random valid rules: rule prefix /p, IPv4 /r, EA bits o with p + o ≤ 64 and a + k ≤ 16. */
const ruleArb = fc
  .record({
    p: fc.integer({ min: 16, max: 48 }),
    r: fc.integer({ min: 8, max: 32 }),
    k: fc.integer({ min: 0, max: 16 }),
    a: fc.integer({ min: 0, max: 16 }),
    v6: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
    v4: fc.integer({ min: 0, max: 0xffffffff }),
    layout: fc.constantFrom<InterfaceIdLayout>("draft-03", "rfc7597"),
    ea: fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
  })
  .filter(({ p, r, k, a }) => p + (32 - r) + k <= 64 && a + k <= 16)
  .map(({ p, r, k, a, v6, v4, layout, ea }) => {
    const o = 32 - r + k;
    const v6Prefix = v6 & ipv6Mask(p);
    const v4Prefix = r === 0 ? 0 : (v4 & (0xffffffff << (32 - r))) >>> 0;
    const rule = makeRule({
      ipv6Prefix: formatIpv6Prefix({ value: v6Prefix, length: p }),
      ipv4Prefix: `${formatIpv4(v4Prefix)}/${r}`,
      eaBits: o,
      psidOffset: a,
    });
    const eaValue = o === 0 ? 0n : ea & ((1n << BigInt(o)) - 1n);
    const endUser = { value: v6Prefix | (eaValue << BigInt(128 - p - o)), length: p + o };
    return { rule, endUser, layout };
  });

test("IPv4 + PSID → CE address → IPv4 + PSID round-trips, and every port maps back to the CE", () => {
  fc.assert(
    fc.property(ruleArb, fc.integer({ min: 0, max: 65535 }), ({ rule, endUser, layout }, portSeed) => {
      const params = computeParameters(endUser, rule, layout);
      assert.equal(ceAddressForIpv4Psid(rule, params.ipv4Address, params.psid, layout), params.ceAddress);
      assert.deepEqual(readCeAddress(rule, params.ceAddress, layout), {
        ipv4: params.ipv4Address,
        psid: params.psid,
      });
      const sets = params.portSets;
      const block = sets[portSeed % sets.length];
      assert.ok(block !== undefined);
      const port = block[0] + (portSeed % (block[1] - block[0] + 1));
      assert.equal(ceAddressForIpv4Port(rule, params.ipv4Address, port, layout), params.ceAddress);
    }),
    { numRuns: 2000 },
  );
});

test("distinct end-user prefixes under one rule never share IPv4 address and PSID", () => {
  fc.assert(
    fc.property(
      ruleArb,
      fc.bigInt({ min: 1n, max: (1n << 48n) - 1n }),
      ({ rule, endUser, layout }, delta) => {
        const o = rule.eaBits;
        if (o === 0) return;
        const shift = BigInt(128 - rule.ipv6Prefix.length - o);
        const otherEa = ((endUser.value >> shift) + delta) & ((1n << BigInt(o)) - 1n);
        const other = { value: rule.ipv6Prefix.value | (otherEa << shift), length: endUser.length };
        if (other.value === endUser.value) return;
        const x = computeParameters(endUser, rule, layout);
        const y = computeParameters(other, rule, layout);
        assert.ok(x.ipv4Address !== y.ipv4Address || x.psid !== y.psid);
      },
    ),
    { numRuns: 1000 },
  );
});
