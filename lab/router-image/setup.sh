#!/bin/sh
# Turns a fresh mmdebstrap tree ($1) into the lab's router system: the WAN by systemd-networkd
# (RA and DHCPv6-PD from the NGN, DUID-LL), the LAN with 192.168.1.1, nftables.service on, and
# nothing that only costs boot time in a container (gettys, timers). Part of the image's cache key.
set -eu
root=$1
here=$(dirname "$0")
install -m 0644 "$here/wan.network" "$root/etc/systemd/network/20-wan.network"
install -m 0644 "$here/lan.network" "$root/etc/systemd/network/30-lan.network"
echo router >"$root/etc/hostname"
# The NGN's resolver; the image has no resolved (a router's own DNS is not under test).
echo "nameserver 2404:1a8:7f01:a::3" >"$root/etc/resolv.conf"
# No root password and no login: the lab reaches the system with nsenter, as a console would.
chroot "$root" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service nftables.service
chroot "$root" systemctl mask console-getty.service getty@.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-timesyncd.service
chroot "$root" systemctl set-default multi-user.target
# Under nspawn /proc/sys is read-only but the machine's own /proc/sys/net is writable, and
# systemd-sysctl skips itself on a read-only /proc/sys: let it run as on hardware, so that
# sysctl.d's network keys (net.ipv4.ip_forward of the networkd render) apply at boot.
mkdir -p "$root/etc/systemd/system/systemd-sysctl.service.d"
printf '[Unit]\nConditionPathIsReadWrite=\n' >"$root/etc/systemd/system/systemd-sysctl.service.d/container.conf"
# Persistent journal, so the daemon's lines of the boot before a reboot can be read afterwards.
mkdir -p "$root/var/log/journal"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale"
