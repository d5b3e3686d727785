import assert from "node:assert/strict";
import { test } from "node:test";
import { PlanError } from "../../../src/plan/plan.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

test("the plan carries the user's parameters", () => {
  const plan = planFor(USER_PREFIX);
  assert.equal(plan.tunnel.local, "2404:7a82:4d02:4100:85:d10d:200:4100");
  assert.equal(plan.tunnel.remote, "2001:260:700:1::1:275");
  assert.equal(plan.tunnel.mtu, 1460);
  assert.equal(plan.ipv4Address, "133.209.13.2");
  assert.equal(plan.portCount, 240);
  assert.equal(plan.parameters.psid, 65);
});

test("a port forward outside the port set is refused, naming the nearest allowed ports", () => {
  assert.throws(
    () =>
      planFor(USER_PREFIX, {
        forwards: [{ protocol: "tcp", port: 8080, toAddress: "192.168.1.10", toPort: 8080 }],
      }),
    (err) =>
      err instanceof PlanError &&
      /tcp\/8080 is outside this line's port set \(PSID 65\); the nearest allowed ports are 5151 or 9232/.test(
        err.message,
      ),
  );
  assert.doesNotThrow(() =>
    planFor(USER_PREFIX, {
      forwards: [{ protocol: "udp", port: 9232, toAddress: "192.168.1.10", toPort: 51820 }],
    }),
  );
});

test("impossible settings are refused before anything is applied", () => {
  assert.throws(() => planFor(USER_PREFIX, { mtu: 1500 }), /MTU 1500 is outside 1280–1460/);
  assert.throws(() => planFor(USER_PREFIX, { tunnelName: "wan0" }), /already the name of the WAN/);
  assert.throws(
    () => planFor(USER_PREFIX, { tunnelName: "a very long name!" }),
    /not a valid interface name/,
  );
  assert.throws(
    () =>
      planFor(USER_PREFIX, {
        forwards: [
          { protocol: "tcp", port: 5140, toAddress: "192.168.1.10", toPort: 22 },
          { protocol: "tcp", port: 5140, toAddress: "192.168.1.11", toPort: 22 },
        ],
      }),
    /given twice/,
  );
  assert.throws(() => planFor(USER_PREFIX, { tcpTimeWait: 0 }), /TIME_WAIT 0 s is not a whole number from 1/);
  assert.throws(() => planFor(USER_PREFIX, { tcpTimeWait: 600 }), /from 1 to 240/);
});
