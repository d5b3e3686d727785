#!/usr/bin/python3
"""Churn at a held level: opens OPEN connections to HOST:PORT and keeps them, then NEW times opens
one more and closes a random held one, so OPEN stay open throughout. Prints one JSON object.

The client closes first, so each closed connection holds its NAT port for the CE's TIME_WAIT
(TW seconds, mapectl's --tcp-time-wait): a port is free for a new flow when fewer than PORTS are
open or closed within the last TW (+ MARGIN) seconds. A new flow that fails although a port was
free is what a port-set NAT should never do ("failedWithFreePort"); one that took longer than
SLOW seconds most likely had its first SYN dropped and succeeded on a retransmit.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab", "guest"))
from echo import open_echo_flows  # noqa: E402

host, port = sys.argv[1], int(sys.argv[2])
held, new, ports, tw = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
TIMEOUT, SLOW, MARGIN = 5.0, 0.9, 1.0
rng = random.Random(4242)
open_flows = []
closed_at = []
out = {"held": held, "attempts": 0, "failures": 0, "failedWithFreePort": 0, "slow": 0, "openFailures": 0}


def busy():
    now = time.monotonic()
    return len(open_flows) + sum(1 for t in closed_at if now - t < tw + MARGIN)


def connect(counted):
    free = busy() < ports
    [flow] = open_echo_flows([(None, host, port)], TIMEOUT)
    if counted:
        out["attempts"] += 1
    if not flow.result["ok"]:
        if counted:
            out["failures"] += 1
            out["failedWithFreePort"] += 1 if free else 0
        else:
            out["openFailures"] += 1
        return
    if counted and flow.result["seconds"] > SLOW:
        out["slow"] += 1
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
print(json.dumps(out))
