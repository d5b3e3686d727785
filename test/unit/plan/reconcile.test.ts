import assert from "node:assert/strict";
import { test } from "node:test";
import { PlanError, type MapePlan } from "../../../src/plan/plan.ts";
import { reconcileDown, reconcileUp, vyosDrift, type Action } from "../../../src/plan/reconcile.ts";
import { renderNftables } from "../../../src/render/nftables.ts";
import { freshHost, hostAfterUp, link, route, stateOf } from "../../helpers/observed-hosts.ts";
import { USER_PREFIX, planFor } from "../../helpers/plans.ts";

const OPTIONS = { replaceDefault: false, nodad: false };

test("on a fresh router, up builds every piece in dependency order, each with an undo", () => {
  const plan = planFor(USER_PREFIX);
  const { actions } = reconcileUp(plan, renderNftables(plan), null, freshHost(), OPTIONS);
  assert.deepEqual(
    actions.map((a) => a.id),
    // the default route last, after the NAT table: no packet can leave untranslated; the table
    // (it names no device) loads while the CE address's DAD runs, before the tunnel waits for it
    ["ce-address", "br-route", "nat", "tunnel", "ipv4-address", "ipv4-default"],
  );
  const byId: Record<string, Action | undefined> = Object.fromEntries(actions.map((a) => [a.id, a]));
  // created up in the same request: one ip less on the boot path
  assert.deepEqual(byId["tunnel"]?.apply.argv, [
    "ip",
    "link",
    "add",
    "name",
    "mape",
    "up",
    "mtu",
    "1460",
    "type",
    "ip6tnl",
    "mode",
    "ip4ip6",
    "local",
    "2404:7a82:4d02:4100:85:d10d:200:4100",
    "remote",
    "2001:260:700:1::1:275",
    "dev",
    "wan0",
    "encaplimit",
    "none",
  ]);
  assert.deepEqual(byId["br-route"]?.apply.argv.slice(0, 9), [
    "ip",
    "-6",
    "route",
    // add, never replace: at this metric replace would take a route of the user's
    "add",
    "2001:260:700:1::1:275/128",
    "via",
    "fe80::1",
    "dev",
    "wan0",
  ]);
  // DAD runs while the BR route goes in (and nft -c checks the table); the tunnel made from the
  // CE address waits for it, so a duplicate fails before the tunnel exists
  assert.equal(byId["ce-address"]?.waitForDad, undefined);
  assert.deepEqual(byId["tunnel"].afterDad, {
    dev: "wan0",
    address: "2404:7a82:4d02:4100:85:d10d:200:4100",
  });
  assert.deepEqual(
    actions.filter((a) => a.afterDad !== undefined).map((a) => a.id),
    ["tunnel"],
  );
  assert.equal(byId["nat"]?.apply.input, renderNftables(plan));
  assert.deepEqual(byId["nat"].undo?.argv, ["nft", "-f", "-"]);
  // nothing was there before: the undo deletes both of mapectl's tables, ip and netdev
  assert.match(byId["nat"].undo.input ?? "", /^delete table ip mapectl$/m);
  assert.match(byId["nat"].undo.input ?? "", /^delete table netdev mapectl$/m);
  for (const a of actions)
    assert.ok(a.undo !== null || ["ipv4-address", "ipv4-default"].includes(a.id), a.id);
});

test("with the fast path the fresh tunnel comes before the table, whose flowtable names it", () => {
  const plan = planFor(USER_PREFIX, { fastPath: true, netdevEgress: true, lan: ["lan0"] });
  const { actions } = reconcileUp(plan, renderNftables(plan), null, freshHost(), OPTIONS);
  assert.match(actions.find((a) => a.id === "nat")?.apply.input ?? "", /devices = \{[^}]*"mape"/);
  assert.deepEqual(
    actions.map((a) => a.id),
    ["ce-address", "br-route", "tunnel", "ipv4-address", "nat", "ipv4-default"],
  );
  // without DAD to wait for (nodad) nothing is gained by loading the table first: the order stays
  const plain = planFor(USER_PREFIX);
  const nodad = reconcileUp(plain, renderNftables(plain), null, freshHost(), { ...OPTIONS, nodad: true });
  assert.deepEqual(
    nodad.actions.map((a) => a.id),
    ["ce-address", "br-route", "tunnel", "ipv4-address", "nat", "ipv4-default"],
  );
});

test("up on a host that already matches the plan does nothing", () => {
  const plan = planFor(USER_PREFIX);
  const { actions } = reconcileUp(plan, renderNftables(plan), stateOf(plan), hostAfterUp(plan), OPTIONS);
  assert.deepEqual(actions, []);
});

test("a removed piece (someone deleted the BR route) is all that up re-creates", () => {
  const plan = planFor(USER_PREFIX);
  const host = hostAfterUp(plan);
  const broken = { ...host, routes: host.routes.filter((r) => r.protocol !== "77" || r.family !== 6) };
  const { actions } = reconcileUp(plan, renderNftables(plan), stateOf(plan), broken, OPTIONS);
  assert.deepEqual(
    actions.map((a) => a.id),
    ["br-route"],
  );
});

/** reconcileUp for `after` on a host where `before` is up. */
function upAfter(before: MapePlan, after: MapePlan, options = OPTIONS) {
  return reconcileUp(after, renderNftables(after), stateOf(before), hostAfterUp(before), options);
}

test("a changed prefix changes the tunnel in place and replaces only what differs", () => {
  const before = planFor(USER_PREFIX);
  const after = planFor("2404:7a82:4d03:4200::/56"); // 133.209.13.3, PSID 66
  const { actions } = upAfter(before, after);
  assert.deepEqual(
    actions.map((a) => a.id),
    // the new addresses before the old ones go: removing the tunnel's last IPv4 address first
    // would flush its default route; the new NAT before the tunnel moves to the new CE address,
    // so nothing NATed to the old IPv4 address leaves from the new CE address
    ["ce-address", "ipv4-address", "nat", "tunnel", "old-ce-address", "old-ipv4-address"],
  );
  // the running tunnel: the new NAT is the first thing whose flows leave from the new CE address
  assert.deepEqual(
    actions.filter((a) => a.afterDad !== undefined).map((a) => a.id),
    ["nat"],
  );
  assert.deepEqual(
    upAfter(before, after, { replaceDefault: false, nodad: true }).actions.filter(
      (a) => a.afterDad !== undefined || a.waitForDad !== undefined,
    ),
    [],
    "--nodad waits for nothing",
  );
  const tunnel = actions.find((a) => a.id === "tunnel");
  assert.equal(tunnel?.apply.argv.slice(0, 5).join(" "), "ip -6 tunnel change mape");
  assert.ok(tunnel.apply.argv.includes(after.tunnel.local));
  assert.ok(tunnel.undo?.argv.includes(before.tunnel.local));
});

test("another IPv4 default route is never shadowed silently", () => {
  const plan = planFor(USER_PREFIX);
  const host = freshHost();
  const withDefault = {
    ...host,
    routes: [
      ...host.routes,
      route({ family: 4, dst: "default", gateway: "192.0.2.1", dev: "lan0", protocol: "dhcp", metric: 100 }),
    ],
  };
  assert.throws(
    () => reconcileUp(plan, renderNftables(plan), null, withDefault, OPTIONS),
    (err) =>
      err instanceof PlanError &&
      /IPv4 default route already exists \(via 192\.0\.2\.1 dev lan0 metric 100\).*--replace-default/.test(
        err.message,
      ),
  );
  const r = reconcileUp(plan, renderNftables(plan), null, withDefault, { ...OPTIONS, replaceDefault: true });
  const replace = r.actions.find((a) => a.id === "replace-default");
  assert.deepEqual(replace?.apply.argv, [
    "ip",
    "-4",
    "route",
    "del",
    "default",
    "via",
    "192.0.2.1",
    "dev",
    "lan0",
    "proto",
    "dhcp",
    "metric",
    "100",
  ]);
  assert.deepEqual(replace.undo?.argv.slice(0, 4), ["ip", "-4", "route", "add"]);
  assert.equal(r.replacedDefaults.length, 1);
});

test("an interface with the tunnel's name that is not ip6tnl is refused", () => {
  const plan = planFor(USER_PREFIX);
  const host = freshHost();
  assert.throws(
    () =>
      reconcileUp(
        plan,
        renderNftables(plan),
        null,
        { ...host, links: [...host.links, link("mape", { kind: "gre" })] },
        OPTIONS,
      ),
    /already exists and is not an ip6tnl tunnel/,
  );
});

test("IPv4 forwarding is switched on only when it was off, and down switches it back", () => {
  const plan = planFor(USER_PREFIX);
  const r = reconcileUp(plan, renderNftables(plan), null, freshHost({ ipv4Forwarding: false }), OPTIONS);
  // right after the CE address, whose DAD then starts one command earlier
  assert.deepEqual(
    r.actions.slice(0, 2).map((a) => a.id),
    ["ce-address", "ipv4-forwarding"],
  );
  assert.equal(r.enabledForwarding, true);
  const down = reconcileDown({ ...stateOf(plan), enabledForwarding: true }, hostAfterUp(plan));
  assert.equal(down.at(-1)?.id, "ipv4-forwarding");
});

test("down removes exactly what up made and leaves the user's own routes and tables", () => {
  const plan = planFor(USER_PREFIX);
  const host = hostAfterUp(plan);
  const userRoute = route({ family: 6, dst: plan.br, dev: "wan0", protocol: "static", metric: 1024 });
  const actions = reconcileDown(stateOf(plan), { ...host, routes: [...host.routes, userRoute] });
  assert.deepEqual(
    actions.map((a) => a.id),
    ["nat", "tunnel", "br-route", "ce-address"],
  );
  const argvs = actions.map((a) => a.apply.argv.join(" "));
  assert.ok(argvs.every((a) => !a.includes("proto static")));
  assert.ok(argvs[2]?.includes("proto 77"));
  assert.deepEqual(reconcileDown(stateOf(plan), freshHost()), []);
});

test("a renamed tunnel: the old one goes before the new one is made, the old addresses last", () => {
  const before = planFor(USER_PREFIX);
  const after = planFor("2404:7a82:4d03:4200::/56", { tunnelName: "mape1" });
  const { actions } = upAfter(before, after);
  const ids = actions.map((a) => a.id);
  assert.ok(ids.indexOf("old-tunnel") < ids.indexOf("tunnel"), ids.join(" "));
  assert.equal(ids.at(-1), "old-ce-address", ids.join(" "));
  assert.ok(!ids.includes("old-ipv4-address"), "the old IPv4 address went with the old tunnel");
});

test("a VyOS-owned tunnel: up loads only mapectl's table, whatever VyOS has or lacks; down removes only it", () => {
  const plan = planFor(USER_PREFIX, { tunnelName: "tun0", tunnelOwner: "vyos" });
  // VyOS's static default through tun0 is no reason to refuse, and nothing of VyOS's is added
  const host = freshHost();
  const withDefault = {
    ...host,
    routes: [
      ...host.routes,
      route({ family: 4, dst: "default", dev: "tun0", protocol: "static", metric: 20 }),
    ],
  };
  const { actions } = reconcileUp(plan, renderNftables(plan), null, withDefault, OPTIONS);
  assert.deepEqual(
    actions.map((a) => a.id),
    ["nat"],
  );
  const up = hostAfterUp(plan);
  assert.deepEqual(reconcileUp(plan, renderNftables(plan), stateOf(plan), up, OPTIONS).actions, []);
  assert.deepEqual(
    reconcileDown(stateOf(plan), up).map((a) => a.id),
    ["nat"],
  );
});

test("vyosDrift names each part of VyOS's configuration that a new prefix left behind", () => {
  const before = planFor(USER_PREFIX, { tunnelName: "tun0", tunnelOwner: "vyos" });
  const after = planFor("2404:7a82:4d03:4200::/56", { tunnelName: "tun0", tunnelOwner: "vyos" });
  assert.deepEqual(vyosDrift(before, hostAfterUp(before)), []);
  const drift = vyosDrift(after, hostAfterUp(before));
  assert.equal(drift.length, 3, drift.join("\n"));
  assert.match(
    drift[0] ?? "",
    new RegExp(`tun0 source-address is ${before.ceAddress}, not the CE address ${after.ceAddress}`),
  );
  assert.match(drift[1] ?? "", /wan0 lacks the CE address 2404:7a82:4d03:4200:/);
  assert.match(drift[2] ?? "", /tun0 lacks the IPv4 address 133\.209\.13\.3\/32/);
  assert.deepEqual(vyosDrift(after, freshHost()).slice(0, 1), ["tunnel tun0 does not exist"]);
});

test("a CE address put back alone (removed by hand) still waits for its DAD, on its own action", () => {
  const plan = planFor(USER_PREFIX);
  const host = hostAfterUp(plan);
  const lost = { ...host, addresses: host.addresses.filter((a) => a.address !== plan.ceAddress) };
  const { actions } = reconcileUp(plan, renderNftables(plan), stateOf(plan), lost, OPTIONS);
  assert.deepEqual(
    actions.map((a) => [a.id, a.waitForDad?.address ?? null, a.afterDad ?? null]),
    [["ce-address", plan.ceAddress, null]],
  );
});

test("where the kernel has optimistic DAD the CE address is optimistic: nothing waits before the tunnel, the verdict comes last", () => {
  const plan = planFor(USER_PREFIX);
  const allowed = { optimisticDad: { all: false, devices: { wan0: true, lan0: false }, writable: true } };
  const { actions } = reconcileUp(plan, renderNftables(plan), null, freshHost(allowed), OPTIONS);
  assert.deepEqual(
    actions.map((a) => a.id),
    // no DAD to wait for before the tunnel: the order --nodad has
    ["ce-address", "br-route", "tunnel", "ipv4-address", "nat", "ipv4-default"],
  );
  assert.deepEqual(actions[0]?.apply.argv.slice(-3), ["dev", "wan0", "optimistic"]);
  assert.deepEqual(
    actions
      .map((a) => [a.id, a.waitForDad?.address ?? null, a.afterDad ?? null])
      .filter((a) => a[1] !== null || a[2] !== null),
    // a duplicate still fails the apply and rolls back everything, the tunnel included
    [["ipv4-default", plan.ceAddress, null]],
  );
});

test("with the WAN's optimistic_dad off it is on only around the CE address's ip addr add, and set back", () => {
  const plan = planFor(USER_PREFIX);
  const off = { optimisticDad: { all: false, devices: { wan0: false }, writable: true } };
  const { actions } = reconcileUp(plan, renderNftables(plan), null, freshHost(off), OPTIONS);
  assert.deepEqual(
    actions.slice(0, 3).map((a) => [a.id, a.apply.argv.join(" "), a.undo?.argv.join(" ") ?? null]),
    [
      [
        "optimistic-dad",
        "sysctl -q -w net/ipv6/conf/wan0/optimistic_dad=1",
        "sysctl -q -w net/ipv6/conf/wan0/optimistic_dad=0",
      ],
      [
        "ce-address",
        `ip -6 addr add ${plan.ceAddress}/128 dev wan0 optimistic`,
        `ip -6 addr del ${plan.ceAddress}/128 dev wan0`,
      ],
      // no undo: a rollback sets it back with the first action's undo
      ["optimistic-dad-restore", "sysctl -q -w net/ipv6/conf/wan0/optimistic_dad=0", null],
    ],
  );
  // all's allows it for every device: nothing to switch
  const all = { optimisticDad: { all: true, devices: { wan0: false }, writable: false } };
  const r = reconcileUp(plan, renderNftables(plan), null, freshHost(all), OPTIONS);
  assert.deepEqual(r.actions[0]?.apply.argv.slice(-1), ["optimistic"]);
  assert.ok(!r.actions.some((a) => a.id.startsWith("optimistic-dad")));
  // where /proc/sys is read-only (a container) the switch cannot be made: the tunnel waits for DAD
  const readOnly = { optimisticDad: { all: false, devices: { wan0: false }, writable: false } };
  const waits = reconcileUp(plan, renderNftables(plan), null, freshHost(readOnly), OPTIONS);
  assert.deepEqual(
    waits.actions.filter((a) => a.afterDad !== undefined).map((a) => a.id),
    ["tunnel"],
  );
  assert.ok(
    !waits.actions.some((a) => a.id.startsWith("optimistic-dad") || a.apply.argv.includes("optimistic")),
  );
  // --nodad skips DAD altogether, and the kernel refuses nodad with optimistic
  const nodad = reconcileUp(plan, renderNftables(plan), null, freshHost(off), { ...OPTIONS, nodad: true });
  assert.deepEqual(nodad.actions[0]?.apply.argv.slice(-1), ["nodad"]);
  assert.ok(!nodad.actions.some((a) => a.id.startsWith("optimistic-dad") || a.waitForDad !== undefined));
});

test("a new prefix under a running tunnel with optimistic DAD: the new NAT does not wait, the verdict follows the last new piece", () => {
  const before = planFor(USER_PREFIX);
  const after = planFor("2404:7a82:4d03:4200::/56");
  const host = {
    ...hostAfterUp(before),
    optimisticDad: { all: false, devices: { wan0: true }, writable: true },
  };
  const { actions } = reconcileUp(after, renderNftables(after), stateOf(before), host, OPTIONS);
  assert.deepEqual(
    actions.map((a) => [a.id, a.waitForDad?.address ?? null, a.afterDad ?? null]),
    [
      ["ce-address", null, null],
      ["ipv4-address", null, null],
      ["nat", null, null],
      ["tunnel", after.ceAddress, null],
      // the old pieces go only once the new address is known to be this CE's alone
      ["old-ce-address", null, null],
      ["old-ipv4-address", null, null],
    ],
  );
});
