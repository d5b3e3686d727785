#!/bin/sh
# Stage 2 of the lab guest: PID 1 inside the host's root (read-only 9p under a RAM overlay). It makes
# the guest look like a freshly booted router host, then runs the agent that the host drives over a
# virtio-serial port. When the agent ends (the host hung up or asked for it), the guest reboots,
# which ends qemu (-no-reboot).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

param() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "$1="*) echo "${word#*=}" ;; esac
  done
}

mount -t sysfs sysfs /sys
# A checkout under /tmp or /run (a CI clone, say) would vanish under the fresh mounts below: keep
# the host's tree reachable and bind the checkout back afterwards.
agent=$(param mapectl.agent)
repo=${agent%/lab/guest/agent.mjs}
case "$repo" in
  /tmp/* | /run/*) keep=$repo ;;
  *) keep= ;;
esac
if [ -n "$keep" ]; then
  mkdir -p /mnt/mapectl-hostroot
  mount --bind / /mnt/mapectl-hostroot
fi
# Fresh /run and /tmp: the host's pid files, sockets and /run/netns must not leak into the guest.
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  mount --bind "/mnt/mapectl-hostroot$keep" "$keep"
fi
mkdir -p /run/netns /run/lock /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# devtmpfs has no /dev/fd: bash process substitution and some daemons need it.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

# The kernel's modules live in the lab cache, not in the host's /lib/modules.
release=$(uname -r)
mkdir -p "/lib/modules/$release"
mount --bind "$(param mapectl.modules)" "/lib/modules/$release"

results=$(param mapectl.results)
mkdir -p "$results"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results "$results"

hostname mapectl-lab
ip link set lo up
# Loaded up front so the first rules do not each wait for an autoload under TCG.
modprobe -a ip6_tunnel tunnel6 veth dummy nf_tables nft_chain_nat nft_nat nft_numgen nft_ct \
  nft_counter nft_limit nft_fib_inet nf_conntrack nft_masq nft_redir nft_reject_inet nft_compat \
  nft_objref nft_exthdr nft_meta_bridge 2>/dev/null

node=$(param mapectl.node)
"${node:-node}" "$(param mapectl.agent)" >"$results/agent.log" 2>&1
echo "lab stage2: agent ended with $?, rebooting" >/dev/console
sync
echo b >/proc/sysrq-trigger
