import { existsSync, readFileSync } from "node:fs";

export type Accel = "kvm" | "tcg";

export interface AccelChoice {
  readonly accel: Accel;
  /** Why this one: shown in logs and the lab README's figures. */
  readonly reason: string;
}

/**
 * KVM only where it can boot a stock Debian kernel. On these machines /dev/kvm is kvm_pvm (PVM),
 * which runs only PVM-enlightened guests: Debian's kernel hangs after "Probing EDD" or qemu aborts
 * on MSR 0x10a. So PVM, or no intel/amd KVM module, means TCG.
 */
export function chooseAccel(wanted: Accel | "auto" = "auto"): AccelChoice {
  if (wanted === "tcg") return { accel: "tcg", reason: "asked for TCG" };
  const hasDevice = existsSync("/dev/kvm");
  const pvm = existsSync("/sys/module/kvm_pvm");
  const hardware = existsSync("/sys/module/kvm_intel") || existsSync("/sys/module/kvm_amd");
  if (hasDevice && hardware && !pvm) return { accel: "kvm", reason: "/dev/kvm backed by kvm_intel/kvm_amd" };
  const why = !hasDevice
    ? "no /dev/kvm"
    : pvm
      ? "/dev/kvm is kvm_pvm (PVM), which cannot boot Debian's kernel"
      : "/dev/kvm is not backed by kvm_intel or kvm_amd";
  if (wanted === "kvm") throw new Error(`KVM is not usable here: ${why}`);
  return { accel: "tcg", reason: why };
}

/**
 * tsc_early_khz for the guest: microvm has no HPET or ACPI PM timer, so without it TSC calibration
 * against the PIT fails under TCG and about half the boots hang.
 */
export function hostTscKhz(): number {
  const text = readFileSync("/proc/cpuinfo", "utf8");
  const match = /^cpu MHz\s*:\s*([\d.]+)/m.exec(text);
  const mhz = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  return Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz * 1000) : 2_000_000;
}
