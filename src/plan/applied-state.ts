import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import type { AppliedState } from "./reconcile.ts";

z.config(en());

const text = z.string();
const whole = z.int();
const route = z.looseObject({
  family: z.union([z.literal(4), z.literal(6)]),
  dst: text,
  gateway: z.nullable(text),
  dev: z.nullable(text),
  protocol: text,
  metric: whole,
  type: text,
});

const tunnelPlan = {
  wan: text,
  lan: z.array(text),
  gateway: text,
  tunnel: z.looseObject({ name: text, local: text, remote: text, mtu: whole }),
  defaultRouteMetric: whole,
  tunnelOwner: z.optional(z.enum(["mapectl", "vyos"])),
};

const forwards = z.array(
  z.looseObject({
    protocol: z.enum(["tcp", "udp"]),
    port: whole,
    toAddress: text,
    toPort: whole,
  }),
);

// Every field `down`, `status` and reconcile read: a state that lacks one could not be acted on
// without guessing, and a guess here removes something of the user's. A plan without `method`
// (state files from before DS-Lite) is MAP-E's.
const mapePlan = z.looseObject({
  ...tunnelPlan,
  method: z.optional(z.literal("map-e")),
  ceAddress: text,
  br: text,
  ipv4Address: text,
  ipv4PrefixLength: whole,
  ipv4LastAddress: text,
  portSets: z.array(z.tuple([whole, whole])),
  portCount: whole,
  forwards,
  tcpTimeWait: z.optional(z.nullable(whole)),
  fastPath: z.optional(z.boolean()),
  parameters: z.record(text, z.unknown()),
});

const dsLitePlan = z.looseObject({
  ...tunnelPlan,
  method: z.literal("ds-lite"),
  aftr: z.looseObject({
    address: text,
    name: z.nullable(text),
    from: z.enum(["hb46pp", "dhcpv6", "tables", "configuration"]),
    service: z.nullable(text),
  }),
  b4Address: text,
  b4PrefixLength: whole,
  aftrIpv4: text,
  addsSource: z.optional(z.boolean()),
});

const ipipPlan = z.looseObject({
  ...tunnelPlan,
  method: z.literal("ipip"),
  ceAddress: text,
  br: text,
  ipv4Address: text,
  ipv4PrefixLength: z.literal(32),
  ipv4Block: text,
  ipv4BlockLength: whole,
  forwards,
  from: z.enum(["hb46pp", "configuration"]),
  update: z.nullable(z.looseObject({ url: text, intervalSeconds: whole })),
});

function stateSchema(plan: typeof mapePlan | typeof dsLitePlan | typeof ipipPlan) {
  return z.looseObject({
    schemaVersion: z.literal(1),
    appliedAt: text,
    plan,
    nftScript: text,
    replacedDefaults: z.array(route),
    enabledForwarding: z.boolean(),
    adopted: z.optional(
      z.looseObject({ tunnel: z.boolean(), ceAddress: z.boolean(), ipv4Address: z.boolean() }),
    ),
  });
}
const mapeState = stateSchema(mapePlan);
const dsLiteState = stateSchema(dsLitePlan);
const ipipState = stateSchema(ipipPlan);

/** The schema of the state's plan's method: one set of complaints, not a union's two. */
function schemaFor(doc: unknown): typeof mapeState {
  const plan = typeof doc === "object" && doc !== null ? (doc as { plan?: unknown }).plan : undefined;
  const method =
    typeof plan === "object" && plan !== null ? (plan as { method?: unknown }).method : undefined;
  if (method === "ipip") return ipipState;
  return method === "ds-lite" ? dsLiteState : mapeState;
}

/** What is wrong with a state file's text, or its content when nothing is. */
export function parseAppliedState(
  content: string,
): { ok: true; state: AppliedState } | { ok: false; why: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    return { ok: false, why: content.trim() === "" ? "it is empty" : "it is not complete JSON" };
  }
  const result = schemaFor(doc).safeParse(doc);
  if (result.success) return { ok: true, state: result.data as unknown as AppliedState };
  const problems = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "top level"}: ${issue.message}`);
  const more = result.error.issues.length > 3 ? `; ${result.error.issues.length - 3} more` : "";
  return { ok: false, why: `${problems.join("; ")}${more}` };
}
