#!/usr/bin/env bash
# One set-up for a fresh Debian 12 machine (as root) and for CI: the Debian packages the lab and the
# tests use, the npm dependencies, and the build. Idempotent: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  qemu-system-x86 busybox-static kea-dhcp6-server nftables iproute2 iperf3 tcpdump unbound
  knot-dnsutils conntrack iputils-ping openssl ca-certificates python3 procps kmod cpio xz-utils
  radvd isc-dhcp-client curl
  chromium fonts-ipafont-gothic
  systemd groff-base binutils
  qemu-user-static mmdebstrap binutils-aarch64-linux-gnu  # the arm64 build: strip, and a run under qemu-user
  systemd-container  # the lab's router system: systemd-nspawn
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 5
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
