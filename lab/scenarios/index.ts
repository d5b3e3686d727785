import { resetCe } from "../ce-reset.ts";
import type { Lab } from "../lab.ts";
import { demo } from "./demo.ts";
import { dsLite } from "./ds-lite.ts";
import { ipip } from "./ipip.ts";
import { reference } from "./reference.ts";
import { router } from "./router.ts";
import type { Scenario, ScenarioReport } from "./scenario.ts";
import { vyos } from "./vyos.ts";
import { wrongBr } from "./wrong-br.ts";

/** The scenarios `mapectl lab list` names and `mapectl lab run` runs. */
export const SCENARIOS: readonly Scenario[] = [demo, reference, wrongBr, vyos, router, dsLite, ipip];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** Runs a scenario on a CE put back to its freshly booted state, with the BRs' counters at zero. */
export async function runScenario(lab: Lab, scenario: Scenario): Promise<ScenarioReport> {
  // A router system brings its own CE up from power-on; the namespace CE has nothing to reset.
  if (lab.ceDhcpClient) await resetCe(lab.guest);
  await lab.isp.resetCounters();
  return { ...(await scenario.run(lab)), method: scenario.method };
}
