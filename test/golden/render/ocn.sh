#!/bin/sh
# MAP-E: OCN バーチャルコネクト, IPv4 153.240.72.209 PSID 22 (1008 ports in 63 blocks), CE 2400:4050:1234:5600:99:f048:d100:1600, BR 2001:380:a120::9.
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
# mapectl: MAP-E NAPT for 153.240.72.209 (PSID 22, 1008 ports in 63 blocks) through mape to BR 2001:380:a120::9
table ip mapectl {}
delete table ip mapectl
table ip mapectl {
	chain srcnat {
		type nat hook postrouting priority srcnat - 1; policy accept;
		oifname "mape" meta l4proto { tcp, udp, icmp } snat ip to numgen inc mod 63 map {
			0 : 153.240.72.209 . 1376-1391, 1 : 153.240.72.209 . 2400-2415, 2 : 153.240.72.209 . 3424-3439, 3 : 153.240.72.209 . 4448-4463,
			4 : 153.240.72.209 . 5472-5487, 5 : 153.240.72.209 . 6496-6511, 6 : 153.240.72.209 . 7520-7535, 7 : 153.240.72.209 . 8544-8559,
			8 : 153.240.72.209 . 9568-9583, 9 : 153.240.72.209 . 10592-10607, 10 : 153.240.72.209 . 11616-11631, 11 : 153.240.72.209 . 12640-12655,
			12 : 153.240.72.209 . 13664-13679, 13 : 153.240.72.209 . 14688-14703, 14 : 153.240.72.209 . 15712-15727, 15 : 153.240.72.209 . 16736-16751,
			16 : 153.240.72.209 . 17760-17775, 17 : 153.240.72.209 . 18784-18799, 18 : 153.240.72.209 . 19808-19823, 19 : 153.240.72.209 . 20832-20847,
			20 : 153.240.72.209 . 21856-21871, 21 : 153.240.72.209 . 22880-22895, 22 : 153.240.72.209 . 23904-23919, 23 : 153.240.72.209 . 24928-24943,
			24 : 153.240.72.209 . 25952-25967, 25 : 153.240.72.209 . 26976-26991, 26 : 153.240.72.209 . 28000-28015, 27 : 153.240.72.209 . 29024-29039,
			28 : 153.240.72.209 . 30048-30063, 29 : 153.240.72.209 . 31072-31087, 30 : 153.240.72.209 . 32096-32111, 31 : 153.240.72.209 . 33120-33135,
			32 : 153.240.72.209 . 34144-34159, 33 : 153.240.72.209 . 35168-35183, 34 : 153.240.72.209 . 36192-36207, 35 : 153.240.72.209 . 37216-37231,
			36 : 153.240.72.209 . 38240-38255, 37 : 153.240.72.209 . 39264-39279, 38 : 153.240.72.209 . 40288-40303, 39 : 153.240.72.209 . 41312-41327,
			40 : 153.240.72.209 . 42336-42351, 41 : 153.240.72.209 . 43360-43375, 42 : 153.240.72.209 . 44384-44399, 43 : 153.240.72.209 . 45408-45423,
			44 : 153.240.72.209 . 46432-46447, 45 : 153.240.72.209 . 47456-47471, 46 : 153.240.72.209 . 48480-48495, 47 : 153.240.72.209 . 49504-49519,
			48 : 153.240.72.209 . 50528-50543, 49 : 153.240.72.209 . 51552-51567, 50 : 153.240.72.209 . 52576-52591, 51 : 153.240.72.209 . 53600-53615,
			52 : 153.240.72.209 . 54624-54639, 53 : 153.240.72.209 . 55648-55663, 54 : 153.240.72.209 . 56672-56687, 55 : 153.240.72.209 . 57696-57711,
			56 : 153.240.72.209 . 58720-58735, 57 : 153.240.72.209 . 59744-59759, 58 : 153.240.72.209 . 60768-60783, 59 : 153.240.72.209 . 61792-61807,
			60 : 153.240.72.209 . 62816-62831, 61 : 153.240.72.209 . 63840-63855, 62 : 153.240.72.209 . 64864-64879
		}
		oifname "mape" snat ip to 153.240.72.209
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
if [ -z "$(ip -6 addr show dev eth1 to 2400:4050:1234:5600:99:f048:d100:1600/128)" ]; then
	ip -6 addr add 2400:4050:1234:5600:99:f048:d100:1600/128 dev eth1 nodad
fi

# The BR is reached through the WAN's default router; NGN does not put it on the link.
ip -6 route replace 2001:380:a120::9/128 via fe80::a611:bbff:fe7d:ee11 dev eth1 proto 77 metric 1

# ip4ip6 to the BR, without the encapsulation-limit option that BRs drop; an existing tunnel of the
# same name is changed in place, so its address and routes survive a prefix change.
if ip link show dev mape >/dev/null 2>&1; then
	ip -6 tunnel change mape mode ip4ip6 local 2400:4050:1234:5600:99:f048:d100:1600 remote 2001:380:a120::9 dev eth1 encaplimit none
	ip link set dev mape mtu 1460
else
	ip link add name mape mtu 1460 type ip6tnl mode ip4ip6 local 2400:4050:1234:5600:99:f048:d100:1600 remote 2001:380:a120::9 dev eth1 encaplimit none
fi
ip link set dev mape up
if [ -z "$(ip -4 addr show dev mape to 153.240.72.209/32)" ]; then
	ip -4 addr add 153.240.72.209/32 dev mape
fi
# proto 77 marks the route as mapectl's, as `mapectl up` does.
if [ -z "$(ip -4 route show default dev mape proto 77)" ]; then
	ip -4 route add default dev mape proto 77 metric 10
fi

# The NAPT into this line's ports, last: replacing the table is one atomic transaction.
nft_script | nft -f -
echo 'MAP-E is up: IPv4 153.240.72.209 through mape'

# To undo it:
#   nft delete table ip mapectl
#   ip link del dev mape
#   ip -6 route del 2001:380:a120::9/128 via fe80::a611:bbff:fe7d:ee11 dev eth1 proto 77 metric 1
#   ip -6 addr del 2400:4050:1234:5600:99:f048:d100:1600/128 dev eth1
# (net.ipv4.ip_forward stays on: other things on the router may need it.)
