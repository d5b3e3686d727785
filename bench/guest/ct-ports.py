#!/usr/bin/python3
"""Runs in the router's namespace beside hold-churn.py: for each line read, prints one JSON line with
the NAT ports that the router's conntrack holds for HOST:PORT right now ("busy", the kernel's own
view, whichever way the entry was made) and their entries' TCP states.

/proc/net/nf_conntrack rather than the conntrack tool: one read, no process to start per query,
so the answer is about the moment the next flow's SYN leaves. Expired entries not yet reaped are
listed there too (the NAT skips them): "expired" counts those with 0 s left.
"""
import json
import os
import sys

host, port = sys.argv[1], sys.argv[2]
# a test gives a table of its own
TABLE = os.environ.get("MAPECTL_CT_TABLE", "/proc/net/nf_conntrack")
for _ in sys.stdin:
    allocated, states, expired = set(), {}, 0
    with open(TABLE) as table:
        for line in table:
            fields = line.split()
            if len(fields) < 6 or fields[2] != "tcp":
                continue
            tuples = [f for f in fields if "=" in f]
            values = [f.split("=", 1) for f in tuples]
            srcs = [v for k, v in values if k == "src"]
            dsts = [v for k, v in values if k == "dst"]
            sports = [v for k, v in values if k == "sport"]
            dports = [v for k, v in values if k == "dport"]
            for src, dst, sport, dport in zip(srcs, dsts, sports, dports):
                # the direction from HOST:PORT to the line's address names the NAT port
                if src == host and sport == port and not dst.startswith("192.168."):
                    allocated.add(dport)
                    # a flow in the flowtable is listed without its timeout and state
                    state = "OFFLOAD" if fields[4].startswith("src=") else fields[5]
                    states[state] = states.get(state, 0) + 1
                    expired += 1 if fields[4] == "0" else 0
                    break
    print(json.dumps({"busy": len(allocated), "states": states, "expired": expired}), flush=True)
