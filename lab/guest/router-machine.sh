#!/bin/sh
# The router system's machine: boots the image ($1) with systemd-nspawn, systemd as its PID 1, in a
# network namespace of its own that holds its two ports, wan0 (to the NGN's line) and lan0 (to the
# lan client), like the CE it replaces; the namespace is named "ce" while it runs, so the lab's
# checks see it. A reboot inside (systemctl reboot: nspawn exits 133) powers it on again with a new
# namespace and new cables: no link, address, route, nft table or conntrack entry of the old boot
# survives, as on real hardware; only the files on its disk do. Poweroff ends the machine. $2 holds
# the ip batches the lab wrote; each boot appends "boot N start|exit ..." lines to $2/boots.
set -u
image=$1
dir=$2
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/router-machine
echo $$ >/sys/fs/cgroup/router-machine/cgroup.procs
own_net=$(readlink /proc/self/ns/net)
boot=0
while :; do
  # Unplug the old cables: deleting one end of a veth deletes its peer in lan or ngn too.
  ip -n ce -force -batch "$dir/unplug.batch" >/dev/null 2>&1
  ip netns del ce 2>/dev/null
  ip -force -batch "$dir/unplug.batch" >/dev/null 2>&1
  ip -batch "$dir/plug.batch" || exit 90
  ip -n lan -batch "$dir/lan.batch" || exit 91
  ip -n ngn -batch "$dir/ngn.batch" || exit 92
  boot=$((boot + 1))
  echo "boot $boot start $(date +%s.%N)" >>"$dir/boots"
  systemd-nspawn --quiet --boot --directory="$image" --machine=router --register=no --keep-unit \
    --private-network \
    --console=pipe --resolv-conf=off --timezone=off --link-journal=no </dev/null &
  nspawn=$!
  # Name the machine's namespace as soon as its PID 1 exists (a child of nspawn in another netns)
  # and plug the ports in: long before its systemd starts networkd, which sees them as any NIC.
  # (nspawn's own --network-interface= wants udev's word that the link is ready; there is no udev.)
  while kill -0 "$nspawn" 2>/dev/null; do
    child=$(pgrep -o -P "$nspawn") && [ "$(readlink "/proc/$child/ns/net")" != "$own_net" ] &&
      ip netns attach ce "$child" && ip -batch "$dir/move.batch" && break
    sleep 0.1
  done
  wait "$nspawn"
  code=$?
  echo "boot $boot exit $code $(date +%s.%N)" >>"$dir/boots"
  [ "$code" = 133 ] || break
done
ip -n ce -force -batch "$dir/unplug.batch" >/dev/null 2>&1
ip netns del ce 2>/dev/null
exit "$code"
