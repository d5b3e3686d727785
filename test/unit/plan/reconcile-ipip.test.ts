import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseAppliedState } from "../../../src/plan/applied-state.ts";
import { planParts } from "../../../src/plan/plan-parts.ts";
import { reconcileDown, reconcileUp } from "../../../src/plan/reconcile.ts";
import { renderPlanTable } from "../../../src/render/render.ts";
import { freshHost, hostAfterUp, stateOf } from "../../helpers/observed-hosts.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";
import { ipipCasePlan } from "../render/cases.ts";

const OPTIONS = { replaceDefault: false, nodad: false };
const plan = { ...ipipCasePlan(), wan: "wan0", lan: ["lan0"], gateway: "fe80::1" };

test("up of IPIP on a fresh router: the CE address, the BR route, the tunnel, the fixed /32, the route, IPIP's table", () => {
  const { actions } = reconcileUp(plan, renderPlanTable(plan), null, freshHost(), OPTIONS);
  const commands = actions.map((a) => a.apply.argv.join(" "));
  assert.ok(commands.includes(`ip -6 addr add ${plan.ceAddress}/128 dev wan0`), commands.join("\n"));
  assert.ok(commands.some((c) => c.startsWith(`ip -6 route add ${plan.br}/128 via fe80::1 dev wan0`)));
  assert.ok(commands.some((c) => c.includes("type ip6tnl mode ip4ip6") && c.includes(`remote ${plan.br}`)));
  assert.ok(commands.includes("ip -4 addr add 203.0.113.9/32 dev ipip"), commands.join("\n"));
  const nat = actions.find((a) => a.id === "nat");
  assert.match(nat?.apply.input ?? "", /oifname "ipip" ip saddr != 203\.0\.113\.9 snat ip to 203\.0\.113\.9/);
  assert.match(nat?.summary ?? "", /masquerade to 203\.0\.113\.9/);
  assert.equal(planParts(plan).label, "IPIP");
});

test("down of IPIP removes exactly what up added: the table, the tunnel, the BR route and the CE address", () => {
  const actions = reconcileDown(stateOf(plan), hostAfterUp(plan));
  const commands = actions.map((a) => a.apply.argv.join(" "));
  const table = actions.find((a) => a.apply.argv.join(" ") === "nft -f -");
  assert.match(table?.apply.input ?? "", /^delete table ip mapectl$/m);
  assert.ok(commands.includes("ip link del dev ipip"));
  assert.ok(commands.some((c) => c.startsWith(`ip -6 route del ${plan.br}/128`)));
  assert.ok(commands.includes(`ip -6 addr del ${plan.ceAddress}/128 dev wan0`), commands.join("\n"));
});

test("an IPIP state file round-trips, never holds the account, and one missing the CE address is refused", () => {
  const state = stateOf(plan);
  const parsed = parseAppliedState(JSON.stringify(state));
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.why);
  assert.deepEqual(parsed.state, state);
  // the template's {password} placeholder only: no key holds an account
  assert.doesNotMatch(JSON.stringify(state), /"(password|user)"\s*:/);
  const broken: Record<string, unknown> = { ...state.plan };
  delete broken["ceAddress"];
  const refused = parseAppliedState(JSON.stringify({ ...state, plan: broken }));
  assert.ok(!refused.ok);
  assert.match(refused.why, /plan\.ceAddress/);
});

test("a switch from MAP-E to IPIP on the same tunnel name takes the old address and table away", () => {
  const mape = { ...planFor(USER_PREFIX), tunnel: { ...planFor(USER_PREFIX).tunnel, name: "ipip" } };
  const { actions } = reconcileUp(plan, renderPlanTable(plan), stateOf(mape), hostAfterUp(mape), OPTIONS);
  const ids = actions.map((a) => a.id);
  assert.ok(ids.includes("nat"), ids.join(", "));
  assert.ok(ids.includes("old-ce-address") || ids.some((i) => i.startsWith("old-")), ids.join(", "));
});

test("IPIP's table as nft 1.0.6 lists it after the load is the table as rendered: the settle round finds nothing to do", () => {
  // what real nft printed after loading this plan's table (nft writes one address without /32)
  const listed = readFileSync(
    new URL("../../fixtures/nft/ipip-table-listed-by-nft-1.0.6.txt", import.meta.url),
    "utf8",
  );
  const afterLoad = { ...hostAfterUp(plan), nftTable: listed.trim() };
  const { actions } = reconcileUp(plan, renderPlanTable(plan), stateOf(plan), afterLoad, OPTIONS);
  assert.deepEqual(
    actions.map((a) => a.id),
    [],
  );
});
