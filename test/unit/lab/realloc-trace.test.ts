import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTrace } from "../../../bench/dataplane/realloc-trace.ts";

// The function tracer's text with func_stack_trace on, as 6.1 prints it: the call, then its stack.
const TRACE = [
  "# tracer: function",
  "#",
  "           flood-812     [000] b..1.  91.123456: pskb_expand_head <-ip6_tnl_xmit",
  "           flood-812     [000] b..1.  91.123460: <stack trace>",
  " => pskb_expand_head",
  " => ip6_tnl_xmit",
  " => ip6_tnl_start_xmit",
  " => dev_hard_start_xmit",
  " => __dev_queue_xmit",
  " => neigh_xmit",
  "           flood-812     [000] b..1.  91.123501: pskb_expand_head <-ip6_tnl_xmit",
  "           flood-812     [000] b..1.  91.123502: <stack trace>",
  " => 0xffffffffc031a083",
  " => ip6_tnl_xmit+0x2a1/0x9b0 [ip6_tunnel]",
  " => ip6_tnl_start_xmit+0x1b2/0x5c0 [ip6_tunnel]",
  " => dev_hard_start_xmit+0x63/0x1d0",
  " => __dev_queue_xmit+0x8a9/0xd40",
  "           <idle>-0       [001] ..s1.  91.2: pskb_expand_head <-skb_cow_data",
  "           <idle>-0       [001] ..s1.  91.2: <stack trace>",
  " => skb_cow_data",
  "",
].join("\n");

test("trace: every call counted, grouped by the first frames of its stack, most frequent first", () => {
  const parsed = parseTrace(TRACE);
  assert.equal(parsed.calls, 3);
  assert.deepEqual(Object.entries(parsed.callers), [
    ["ip6_tnl_xmit < ip6_tnl_start_xmit < dev_hard_start_xmit < __dev_queue_xmit", 2],
    ["skb_cow_data", 1],
  ]);
});

test("trace: an empty buffer is no call", () => {
  assert.deepEqual(parseTrace("# tracer: function\n#\n"), { calls: 0, callers: {} });
});
