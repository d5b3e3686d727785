#!/usr/bin/python3
"""Churn at a held level: opens OPEN connections to HOST:PORT and keeps them, then NEW times opens
one more and closes a random held one, so OPEN stay open throughout. Prints one JSON object.

The client closes first, so each closed connection holds its NAT port for the CE's TIME_WAIT
(TW seconds, mapectl's --tcp-time-wait): a port is free for a new flow when fewer than PORTS are
open or closed within the last TW (+ MARGIN) seconds. A new flow that fails although a port was
free is what a port-set NAT should never do ("failedWithFreePort"); one that took longer than
SLOW seconds most likely had its first SYN dropped and succeeded on a retransmit.

With a router namespace (argument 7), ct-ports.py runs there and is asked before every new flow
how many ports the router's conntrack holds for HOST:PORT (the kernel's view): "byFree" then counts
attempts, slow flows and failures by ports free by this script's count and by the kernel's ("free
here/kernel", 8 standing for 8 or more), and "failed" lists each failure with both counts and the
kernel's entries by TCP state, to tell a miscount from a NAT that missed a free port.
"failedWithFreePortKernel" counts the failures that started while the kernel held fewer than PORTS:
ports only come free while a flow waits, so a port was free for every SYN of those. This script's
own count keeps a port busy MARGIN longer than the kernel does and so misses some of them.
"""
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab", "guest"))
from echo import open_echo_flows  # noqa: E402

host, port = sys.argv[1], int(sys.argv[2])
held, new, ports, tw = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
router = sys.argv[7] if len(sys.argv) > 7 else None
TIMEOUT, SLOW, MARGIN = 5.0, 0.9, 1.0
rng = random.Random(4242)
open_flows = []
closed_at = []
out = {"held": held, "attempts": 0, "failures": 0, "failedWithFreePort": 0, "slow": 0, "openFailures": 0}


def busy():
    now = time.monotonic()
    return len(open_flows) + sum(1 for t in closed_at if now - t < tw + MARGIN)


ct = None
if router is not None:
    out["failedWithFreePortKernel"] = 0
    out["byFree"] = {}
    out["failed"] = []
    ct_ports = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ct-ports.py")
    ct = subprocess.Popen(
        ["ip", "netns", "exec", router, "/usr/bin/python3", ct_ports, host, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def kernel_view():
    ct.stdin.write("?\n")
    ct.stdin.flush()
    return json.loads(ct.stdout.readline())


def tally(used, kernel, outcome):
    key = f"{min(8, ports - used)}/{min(8, ports - kernel['busy'])}"
    row = out["byFree"].setdefault(key, [0, 0, 0])
    row[0] += 1
    row[1] += 1 if outcome == "slow" else 0
    row[2] += 1 if outcome == "failed" else 0
    if outcome == "failed":
        out["failedWithFreePortKernel"] += 1 if kernel["busy"] < ports else 0
        out["failed"].append({"free": ports - used, "kernelFree": ports - kernel["busy"], **kernel})


def connect(counted):
    used = busy()
    kernel = kernel_view() if counted and ct is not None else None
    free = used < ports
    [flow] = open_echo_flows([(None, host, port)], TIMEOUT)
    if counted:
        out["attempts"] += 1
    if not flow.result["ok"]:
        if counted:
            out["failures"] += 1
            out["failedWithFreePort"] += 1 if free else 0
            if kernel is not None:
                tally(used, kernel, "failed")
        else:
            out["openFailures"] += 1
        return
    slow = flow.result["seconds"] > SLOW
    if counted and slow:
        out["slow"] += 1
    if kernel is not None:
        tally(used, kernel, "slow" if slow else "ok")
    open_flows.append(flow)


tries = 0
while len(open_flows) < held and tries < held * 2:
    tries += 1
    connect(False)
time.sleep(tw + MARGIN)
for _ in range(new):
    connect(True)
    while len(open_flows) > held:
        open_flows.pop(rng.randrange(len(open_flows))).close()
        closed_at.append(time.monotonic())
for f in open_flows:
    f.close()
if ct is not None:
    ct.stdin.close()
    ct.wait()
print(json.dumps(out))
