import { after, before } from "node:test";
import { Lab, type LabOptions } from "../../lab/lab.ts";
import { labSkip } from "../../lab/preflight.ts";

export interface UseLabOptions extends LabOptions {
  /** The file runs dist/mapectl.cjs (from `npm run build`): skip without it. */
  readonly needsBundle?: boolean;
  /** Runs once after the boot, before the file's first test (a daemon, a wrapper on PATH, …). */
  readonly onBoot?: (lab: Lab) => Promise<void>;
}

export interface LabUse {
  /** The tests' skip option: false when the lab can run here, else why not. */
  readonly skip: string | false;
  /** The booted lab; throws when it did not boot. */
  readonly lab: () => Lab;
}

/**
 * One VM for the whole test file: boots it before the first test (unless the lab cannot run
 * here) and shuts it down after the last; booting costs ~10 s under TCG, a test a few seconds.
 */
export function useLab(options: UseLabOptions = {}): LabUse {
  const { needsBundle, onBoot, ...bootOptions } = options;
  const skip = labSkip({ needsBundle: needsBundle ?? false });
  let lab: Lab | undefined;
  before(async () => {
    if (skip !== false) return;
    lab = await Lab.boot(bootOptions);
    await onBoot?.(lab);
  });
  after(async () => {
    await lab?.shutdown();
  });
  return {
    skip,
    lab: () => {
      if (lab === undefined) throw new Error("the lab did not boot");
      return lab;
    },
  };
}
