import assert from "node:assert/strict";
import { test } from "node:test";
import { ipipChecks, type IpipDoctorInput } from "../../../src/diagnose/checks/ipip.ts";
import type { UpdateRecord } from "../../../src/provision/ipip-update.ts";
import { addr, freshHost, plannedTunnel } from "../../helpers/observed-hosts.ts";
import { ipipCasePlan } from "../render/cases.ts";

const plan = ipipCasePlan();
const REGISTERED: UpdateRecord = {
  at: "2026-12-07T10:00:00.000Z",
  kind: "registered",
  detail: "HTTP 200: OK",
  ceAddress: plan.ceAddress,
  prefix: "2001:db8:1200:3400::/56",
};

/** A router where IPIP works: the tunnel, the fixed address, the BR routed, the CE registered. */
function working(extra: Partial<IpipDoctorInput> = {}): IpipDoctorInput {
  const host = freshHost();
  return {
    plan,
    updateUrl: plan.update?.url ?? null,
    host: {
      ...host,
      links: [...host.links, plannedTunnel(plan)],
      addresses: [...host.addresses, addr("ipip", plan.ipv4Address, 32, 4)],
    },
    brRoute: { gateway: plan.gateway, dev: plan.wan },
    lastUpdate: REGISTERED,
    accountProblem: null,
    configFile: "/etc/mapectl/config.toml",
    ...extra,
  };
}

const failing = (input: IpipDoctorInput) =>
  ipipChecks(input)
    .filter((f) => f.verdict === "fail")
    .map((f) => f.id);

test("a working IPIP router passes every check", () => {
  assert.deepEqual(failing(working()), []);
  assert.deepEqual(
    ipipChecks(working())
      .map((f) => f.id)
      .sort(),
    [
      "ipip.br-unreachable",
      "ipip.credentials-missing",
      "ipip.fixed-address-missing",
      "ipip.prefix-unregistered",
      "ipip.tunnel-missing",
      "ipip.update-refused",
    ],
  );
});

test("a refused account is the first finding, with the server's words and the fix, never a password", () => {
  const refused = working({
    lastUpdate: { ...REGISTERED, kind: "refused", detail: "HTTP 401: NG: authentication failed" },
  });
  const first = ipipChecks(refused)[0];
  assert.ok(first !== undefined);
  assert.equal(first.id, "ipip.update-refused");
  assert.match(first.summary, /refused the account \(HTTP 401: NG: authentication failed/);
  assert.ok(first.fix.includes("mapectl up"));
});

test("without a plan (up refused before it applied anything) the record alone says why", () => {
  const refused = working({
    plan: null,
    lastUpdate: { ...REGISTERED, kind: "refused", detail: "HTTP 401: NG: authentication failed" },
  });
  assert.deepEqual(failing(refused), ["ipip.update-refused"]);
});

test("each broken part gives its own failing id", () => {
  assert.deepEqual(failing(working({ accountProblem: "no password" })), ["ipip.credentials-missing"]);
  assert.deepEqual(failing(working({ lastUpdate: null })), ["ipip.prefix-unregistered"]);
  assert.deepEqual(failing(working({ lastUpdate: { ...REGISTERED, ceAddress: "2001:db8:9::1" } })), [
    "ipip.prefix-unregistered",
  ]);
  assert.deepEqual(
    failing(working({ lastUpdate: { ...REGISTERED, kind: "failed", detail: "ECONNREFUSED" } })),
    ["ipip.update-failed"],
  );
  assert.deepEqual(failing(working({ brRoute: null })), ["ipip.br-unreachable"]);
  const noAddress = working();
  assert.deepEqual(failing({ ...noAddress, host: { ...noAddress.host, addresses: freshHost().addresses } }), [
    "ipip.fixed-address-missing",
  ]);
  assert.deepEqual(failing({ ...noAddress, host: freshHost() }), [
    "ipip.tunnel-missing",
    "ipip.fixed-address-missing",
  ]);
});
