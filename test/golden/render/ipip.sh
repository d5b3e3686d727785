#!/bin/sh
# IPIP: fixed IPv4 203.0.113.9 (from configuration), CE 2001:db8:1200:3400:1234:5678:9abc:def0, BR 2001:db8:ffff::64, registered through the provider's update URL.
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
# mapectl: IPIP with the fixed IPv4 203.0.113.9 through ipip to BR 2001:db8:ffff::64: the LAN masqueraded to it, all ports
table ip mapectl {}
delete table ip mapectl
table ip mapectl {
	chain srcnat {
		type nat hook postrouting priority srcnat - 1; policy accept;
		oifname "ipip" ip saddr != 203.0.113.9 snat ip to 203.0.113.9
	}
	chain dstnat {
		type nat hook prerouting priority dstnat - 1; policy accept;
		iifname "ipip" tcp dport 443 dnat ip to 192.168.1.10:8443
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname "ipip" tcp flags syn tcp option maxseg size set rt mtu
		iifname "ipip" tcp flags syn tcp option maxseg size > 1420 tcp option maxseg size set 1420
		iifname "ipip" ct state established,related accept
		iifname "ipip" ct status dnat accept
		iifname "ipip" counter drop comment "unsolicited inbound IPv4"
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "ipip" ct state established,related accept
		iifname "ipip" counter drop comment "unsolicited inbound IPv4"
	}
}
table netdev mapectl {}
delete table netdev mapectl
MAPECTL_NFT
}
# nft checks the whole table before anything on the host changes.
nft_script | nft -c -f -

# The router forwards IPv4 between the LAN and the tunnel.
sysctl -q -w net.ipv4.ip_forward=1

# The CE address is the tunnel's IPv6 source: the provider registered it, and the BR sends the fixed address only to it.
# nodad: it lies inside this line's own prefix, so nobody else on the link can hold it.
if [ -z "$(ip -6 addr show dev eth1 to 2001:db8:1200:3400:1234:5678:9abc:def0/128)" ]; then
	ip -6 addr add 2001:db8:1200:3400:1234:5678:9abc:def0/128 dev eth1 nodad
fi

# The BR is reached through the WAN's default router; NGN does not put it on the link.
ip -6 route replace 2001:db8:ffff::64/128 via fe80::a611:bbff:fe7d:ee11 dev eth1 proto 77 metric 1

# ip4ip6 to the BR, without the encapsulation-limit option that BRs drop; an existing tunnel of the
# same name is changed in place, so its address and routes survive a prefix change.
if ip link show dev ipip >/dev/null 2>&1; then
	ip -6 tunnel change ipip mode ip4ip6 local 2001:db8:1200:3400:1234:5678:9abc:def0 remote 2001:db8:ffff::64 dev eth1 encaplimit none
	ip link set dev ipip mtu 1460
else
	ip link add name ipip mtu 1460 type ip6tnl mode ip4ip6 local 2001:db8:1200:3400:1234:5678:9abc:def0 remote 2001:db8:ffff::64 dev eth1 encaplimit none
fi
ip link set dev ipip up
if [ -z "$(ip -4 addr show dev ipip to 203.0.113.9/32)" ]; then
	ip -4 addr add 203.0.113.9/32 dev ipip
fi
# proto 77 marks the route as mapectl's, as `mapectl up` does.
if [ -z "$(ip -4 route show default dev ipip proto 77)" ]; then
	ip -4 route add default dev ipip proto 77 metric 10
fi

# The masquerade to the fixed address and the inbound filter, last: replacing the table is one atomic transaction.
nft_script | nft -f -
echo 'IPIP is up: IPv4 203.0.113.9 through ipip (run mapectl up, or call the provider'\''s update URL, to register the prefix)'

# To undo it:
#   nft delete table ip mapectl
#   ip link del dev ipip
#   ip -6 route del 2001:db8:ffff::64/128 via fe80::a611:bbff:fe7d:ee11 dev eth1 proto 77 metric 1
#   ip -6 addr del 2001:db8:1200:3400:1234:5678:9abc:def0/128 dev eth1
# (net.ipv4.ip_forward stays on: other things on the router may need it.)
