#!/bin/busybox sh
# Stage 1 of the lab guest, PID 1 from the initramfs. It loads only what reaching the host needs
# (virtio-mmio, 9p, overlay, the agent's port), puts a RAM overlay over the host's read-only root so
# that every program in the guest can write where it would on a real router, and becomes stage 2
# inside it. PID 1 itself chroots: the kernel runs its modprobe helper with init's root, so module
# autoload works only this way.
bb=/bin/busybox
$bb mkdir -p /proc /dev /lower /rw /newroot
$bb mount -t proc proc /proc
$bb mount -t devtmpfs devtmpfs /dev

fail() {
  echo "lab init: $*" >/dev/console
  # The host runs qemu with -no-reboot: a reboot ends qemu at once instead of hanging.
  echo b >/proc/sysrq-trigger
}

param() {
  for word in $($bb cat /proc/cmdline); do
    case "$word" in "$1="*) echo "${word#*=}" ;; esac
  done
}

for module in $($bb cat /modules/load); do
  $bb insmod "/modules/$module" || echo "lab init: insmod $module failed" >/dev/console
done

# cache=loose: nothing on the host changes under a running lab, and it makes exec several times faster.
$bb mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower ||
  fail "cannot mount the host root over 9p"
$bb mount -t tmpfs -o mode=755 rw /rw
$bb mkdir -p /rw/upper /rw/work
$bb mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  fail "cannot mount the overlay root"
stage2=$(param mapectl.stage2)
$bb mount --move /dev /newroot/dev
$bb mount --move /proc /newroot/proc
exec $bb chroot /newroot /bin/sh "$stage2"
