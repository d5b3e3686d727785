#!/bin/sh
# Runs a command inside the router system (all its namespaces, its root), as its console would:
# its PID 1 is the guest's only systemd.
pid=$(pgrep -o -x systemd) || { echo "in-router: the router system is not running" >&2; exit 125; }
exec nsenter -t "$pid" -a -r -w -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
