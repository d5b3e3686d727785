#!/bin/sh
# MAP-E: BIGLOBE IPv6オプション, IPv4 133.209.13.2 PSID 65 (240 ports in 15 blocks), CE 2404:7a82:4d02:4100:85:d10d:200:4100, BR 2001:260:700:1::1:275.
# Rendered by `mapectl render --target shell`: it builds what `mapectl up` builds, without mapectl.
# Run it as root on the router; running it again changes nothing that is already in place.
# `mapectl down` does not know about what it builds: the commands to undo it are at the end.
set -eu

# Every check comes before the first change, so a missing tool or interface leaves the host as it was.
for tool in ip nft sysctl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool is missing (install iproute2 and nftables)" >&2; exit 5; }
done
[ "$(id -u)" -eq 0 ] || { echo "$0: run this as root" >&2; exit 5; }
ip link show dev eth1 >/dev/null 2>&1 || { echo "$0: "'the WAN interface eth1 does not exist' >&2; exit 5; }

nft_script() {
	cat <<'MAPECTL_NFT'
# mapectl: MAP-E NAPT for 133.209.13.2 (PSID 65, 240 ports in 15 blocks) through mape to BR 2001:260:700:1::1:275
table ip mapectl {}
delete table ip mapectl
table ip mapectl {
	chain srcnat {
		type nat hook postrouting priority srcnat - 1; policy accept;
		oifname "mape" meta l4proto { tcp, udp, icmp } snat ip to numgen inc mod 15 map {
			0 : 133.209.13.2 . 5136-5151, 1 : 133.209.13.2 . 9232-9247, 2 : 133.209.13.2 . 13328-13343, 3 : 133.209.13.2 . 17424-17439,
			4 : 133.209.13.2 . 21520-21535, 5 : 133.209.13.2 . 25616-25631, 6 : 133.209.13.2 . 29712-29727, 7 : 133.209.13.2 . 33808-33823,
			8 : 133.209.13.2 . 37904-37919, 9 : 133.209.13.2 . 42000-42015, 10 : 133.209.13.2 . 46096-46111, 11 : 133.209.13.2 . 50192-50207,
			12 : 133.209.13.2 . 54288-54303, 13 : 133.209.13.2 . 58384-58399, 14 : 133.209.13.2 . 62480-62495
		}
		oifname "mape" snat ip to 133.209.13.2
	}
	chain dstnat {
		type nat hook prerouting priority dstnat - 1; policy accept;
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname "mape" tcp flags syn tcp option maxseg size set rt mtu
		iifname "mape" tcp flags syn tcp option maxseg size > 1420 tcp option maxseg size set 1420
		iifname "mape" ct state established,related accept
		iifname "mape" ct status dnat accept
		iifname "mape" counter drop comment "unsolicited inbound IPv4"
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "mape" ct state established,related accept
		iifname "mape" counter drop comment "unsolicited inbound IPv4"
	}
}
MAPECTL_NFT
}
# nft checks the whole table before anything on the host changes.
nft_script | nft -c -f -

# The router forwards IPv4 between the LAN and the tunnel.
sysctl -q -w net.ipv4.ip_forward=1

# The CE address is the tunnel's IPv6 source: the BR accepts the IPv4 address and ports only from it.
# nodad: it lies inside this line's own prefix, so nobody else on the link can hold it.
if [ -z "$(ip -6 addr show dev eth1 to 2404:7a82:4d02:4100:85:d10d:200:4100/128)" ]; then
	ip -6 addr add 2404:7a82:4d02:4100:85:d10d:200:4100/128 dev eth1 nodad
fi

# The BR is reached through the WAN's default router; NGN does not put it on the link.
ip -6 route replace 2001:260:700:1::1:275/128 via fe80::a611:bbff:fe7d:ee11 dev eth1 proto 77 metric 1

# ip4ip6 to the BR, without the encapsulation-limit option that BRs drop; an existing tunnel of the
# same name is changed in place, so its address and routes survive a prefix change.
if ip link show dev mape >/dev/null 2>&1; then
	ip -6 tunnel change mape mode ip4ip6 local 2404:7a82:4d02:4100:85:d10d:200:4100 remote 2001:260:700:1::1:275 dev eth1 encaplimit none
	ip link set dev mape mtu 1460
else
	ip link add name mape mtu 1460 type ip6tnl mode ip4ip6 local 2404:7a82:4d02:4100:85:d10d:200:4100 remote 2001:260:700:1::1:275 dev eth1 encaplimit none
fi
ip link set dev mape up
if [ -z "$(ip -4 addr show dev mape to 133.209.13.2/32)" ]; then
	ip -4 addr add 133.209.13.2/32 dev mape
fi
# proto 77 marks the route as mapectl's, as `mapectl up` does.
if [ -z "$(ip -4 route show default dev mape proto 77)" ]; then
	ip -4 route add default dev mape proto 77 metric 10
fi

# The NAPT into this line's ports, last: replacing the table is one atomic transaction.
nft_script | nft -f -
echo 'MAP-E is up: IPv4 133.209.13.2 through mape'

# To undo it:
#   nft delete table ip mapectl
#   ip link del dev mape
#   ip -6 route del 2001:260:700:1::1:275/128 via fe80::a611:bbff:fe7d:ee11 dev eth1 proto 77 metric 1
#   ip -6 addr del 2404:7a82:4d02:4100:85:d10d:200:4100/128 dev eth1
# (net.ipv4.ip_forward stays on: other things on the router may need it.)
