// lab-dataplane's flags (bench/README.md), parsed once.
import type { LanLink } from "./lan-link.ts";

// --cost-only: just the instruction counts (one boot, a few minutes), not the timed figures;
// --churn-only: just the held-churn figures of both allocators; both: those two in one boot
export const costOnly = process.argv.includes("--cost-only");
export const churnOnly = process.argv.includes("--churn-only");
// --allocators: of the cost paths only plain, mape (the fold) and mapeRoundRobin, to compare the two
export const allocatorsOnly = process.argv.includes("--allocators");
export const ALLOCATOR_PATHS = ["plain", "mape", "mapeRoundRobin"];
// --paths=plain,mape: only these cost paths (the first one listed in the bench's order is the reference)
export const pathsArg = process.argv
  .find((a) => a.startsWith("--paths="))
  ?.slice("--paths=".length)
  .split(",");
// --profile: the cost's UDP runs also by kernel symbol (bench/README.md), and pskb_expand_head's
// callers traced over one more UDP transfer per path
export const profile = process.argv.includes("--profile");
// --lan-link=tap: the cost measured with a NIC-like LAN link instead of the lab's veth
// (dataplane/lan-link.ts), reported as costTapLan; both: veth (cost), then tap, in one boot
export const lanLinkArg =
  process.argv.find((a) => a.startsWith("--lan-link="))?.slice("--lan-link=".length) ?? "veth";
if (!["veth", "tap", "both"].includes(lanLinkArg))
  throw new Error(`--lan-link=${lanLinkArg}: veth, tap or both`);
// (both: the tap first, so a link that fails to come up fails the bench early; then the lab's veth again)
export const lanLinks: LanLink[] = lanLinkArg === "both" ? ["tap", "veth"] : [lanLinkArg as LanLink];
// --held=230,239: only these held counts (a loaded host may not finish all three)
export const heldCounts = (
  process.argv.find((a) => a.startsWith("--held="))?.slice("--held=".length) ?? "200,230,239"
)
  .split(",")
  .map(Number);
