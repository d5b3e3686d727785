import { Lab, type LabOptions } from "./lab.ts";
import { labSkip } from "./preflight.ts";

/**
 * A bench's lab: exits 2 with the reason when the lab cannot run here, else boots it with its
 * progress on stderr. The bench shuts it down.
 */
export async function bootBenchLab(bench: string, options: LabOptions = {}): Promise<Lab> {
  const skip = labSkip({ needsBundle: true });
  if (skip !== false) {
    console.error(`${bench}: ${skip}`);
    process.exit(2);
  }
  return Lab.boot({
    log: (line) => {
      console.error(line);
    },
    ...options,
  });
}
