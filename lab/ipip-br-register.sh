#!/bin/sh
# The lab's IPIP BR learns a registered CE (run by lab/ipip-update-server.mjs in the br namespace
# after the account was accepted): its tunnel now leads to the CE address, the fixed address is
# routed into it, and the BR's filter accepts ip4ip6 from that CE only.
#   ipip-br-register.sh BR-ADDRESS TUNNEL CE-ADDRESS IPV4
set -eu
br=$1 tun=$2 ce=$3 v4=$4
ip link del "$tun" 2>/dev/null || true
ip link add name "$tun" type ip6tnl mode ip4ip6 remote "$ce" local "$br" encaplimit none
ip link set "$tun" mtu 1460 up
ip route replace "$v4/32" dev "$tun"
nft flush set inet ipipbr registered
nft add element inet ipipbr registered "{ $ce }"
