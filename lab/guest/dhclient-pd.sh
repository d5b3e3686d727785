#!/bin/sh
# dhclient -6 -P hook of the lab's CE (dhclient -sf): what a home router does with its delegated
# prefix and nothing more. The /56 becomes an unreachable route (so `ip -6 route` shows what was
# delegated, as on OpenWrt and VyOS), subnet 0 of it goes on the LAN as ::1/64, and the prefix is
# written where the lab waits for it. MAP-E itself is left to mapectl or the scenario.
lan=lan0
state=/run/mapectl-lab/ce-delegated-prefix

drop_prefix() {
  [ -n "$1" ] || return 0
  ip -6 route del unreachable "$1" 2>/dev/null
  ip -6 addr del "${1%/*}1/64" dev "$lan" 2>/dev/null
  rm -f "$state"
}

case "$reason" in
  BOUND6 | RENEW6 | REBIND6 | REBOOT6)
    if [ -n "$old_ip6_prefix" ] && [ "$old_ip6_prefix" != "$new_ip6_prefix" ]; then
      drop_prefix "$old_ip6_prefix"
    fi
    if [ -n "$new_ip6_prefix" ]; then
      ip -6 route replace unreachable "$new_ip6_prefix"
      ip -6 addr replace "${new_ip6_prefix%/*}1/64" dev "$lan"
      echo "$new_ip6_prefix" >"$state.tmp" && mv "$state.tmp" "$state"
    fi
    ;;
  EXPIRE6 | RELEASE6 | STOP6)
    drop_prefix "$old_ip6_prefix"
    ;;
esac
exit 0
