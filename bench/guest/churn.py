#!/usr/bin/python3
"""Port-set churn from the lan client: keeps between LOW and HIGH connections open to HOST:PORT,
opening and closing at random for SECONDS. Prints one JSON object.

A connection that has no echo within TIMEOUT seconds failed; one that needed longer than SLOW
seconds most likely lost its first SYN (its NAT block was full) and succeeded on a retransmit.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab", "guest"))
from echo import open_echo_flows  # noqa: E402

host, port, low, high, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
TIMEOUT, SLOW = 5.0, 0.9
rng = random.Random(4242)
open_flows = []
attempts = failures = slow = 0
max_open = 0
deadline = time.monotonic() + seconds


def connect():
    global attempts, failures, slow
    attempts += 1
    [flow] = open_echo_flows([(None, host, port)], TIMEOUT)
    if not flow.result["ok"]:
        failures += 1
        return
    if flow.result["seconds"] > SLOW:
        slow += 1
    open_flows.append(flow)


while len(open_flows) < low and time.monotonic() < deadline:
    connect()
while time.monotonic() < deadline:
    n = len(open_flows)
    if n < low or (n < high and rng.random() < 0.5):
        connect()
    elif open_flows:
        open_flows.pop(rng.randrange(len(open_flows))).close()
    max_open = max(max_open, len(open_flows))
for f in open_flows:
    f.close()
print(json.dumps({"attempts": attempts, "failures": failures, "slow": slow, "maxOpen": max_open}))
