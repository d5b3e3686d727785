#!/bin/sh
# DS-Lite: transix, AFTR gw.transix.jp 2404:8e00::feed:100 (resolved, from tables), B4 192.0.0.2 from 2404:8e00:12:3400:a611:bbff:fe7d:ee10.
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
# mapectl: DS-Lite through dslite to AFTR 2404:8e00::feed:100: no NAT here (the AFTR translates), MSS clamp and inbound filter only
table ip mapectl {}
delete table ip mapectl
table ip mapectl {
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname "dslite" tcp flags syn tcp option maxseg size set rt mtu
		iifname "dslite" tcp flags syn tcp option maxseg size > 1420 tcp option maxseg size set 1420
		iifname "dslite" ct state established,related accept
		iifname "dslite" counter drop comment "unsolicited inbound IPv4"
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "dslite" ct state established,related accept
		iifname "dslite" counter drop comment "unsolicited inbound IPv4"
	}
}
table netdev mapectl {}
delete table netdev mapectl
MAPECTL_NFT
}
# nft checks the whole table before anything on the host changes.
nft_script | nft -c -f -

# The router forwards the LAN's IPv4 into the tunnel as it is: the AFTR does the NAT.
sysctl -q -w net.ipv4.ip_forward=1

# ip4ip6 from the WAN's address to the AFTR, without the encapsulation-limit option; an existing
# tunnel of the same name is changed in place, so its address and routes survive.
if ip link show dev dslite >/dev/null 2>&1; then
	ip -6 tunnel change dslite mode ip4ip6 local 2404:8e00:12:3400:a611:bbff:fe7d:ee10 remote 2404:8e00::feed:100 dev eth1 encaplimit none
	ip link set dev dslite mtu 1460
else
	ip link add name dslite mtu 1460 type ip6tnl mode ip4ip6 local 2404:8e00:12:3400:a611:bbff:fe7d:ee10 remote 2404:8e00::feed:100 dev eth1 encaplimit none
fi
ip link set dev dslite up
# RFC 6333: the B4 end of the softwire is 192.0.0.2 in 192.0.0.0/29, the router's own IPv4 source.
if [ -z "$(ip -4 addr show dev dslite to 192.0.0.2/29)" ]; then
	ip -4 addr add 192.0.0.2/29 dev dslite
fi
# proto 77 marks the route as mapectl's, as `mapectl up` does.
if [ -z "$(ip -4 route show default dev dslite proto 77)" ]; then
	ip -4 route add default dev dslite proto 77 metric 10
fi

# The MSS clamp and the inbound filter, last: replacing the table is one atomic transaction.
nft_script | nft -f -
echo 'DS-Lite is up: IPv4 through dslite to AFTR 2404:8e00::feed:100'

# To undo it:
#   nft delete table ip mapectl
#   ip link del dev dslite
# (net.ipv4.ip_forward stays on: other things on the router may need it.)
