#!/usr/bin/python3
"""Port-set churn from the lan client: keeps between LOW and HIGH connections open to HOST:PORT,
opening and closing at random for SECONDS. Prints one JSON object.

A connection that has no echo within TIMEOUT seconds failed; one that needed longer than SLOW
seconds most likely lost its first SYN (its NAT block was full) and succeeded on a retransmit.
"""
import json
import random
import socket
import sys
import time

host, port, low, high, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
TIMEOUT, SLOW = 5.0, 0.9
rng = random.Random(4242)
open_socks = []
attempts = failures = slow = 0
max_open = 0
deadline = time.monotonic() + seconds

def connect():
    global attempts, failures, slow
    attempts += 1
    start = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=TIMEOUT)
        s.sendall(b"churn\n")
        if s.recv(16) != b"churn\n":
            raise OSError("bad echo")
        if time.monotonic() - start > SLOW:
            slow += 1
        open_socks.append(s)
    except OSError:
        failures += 1

while len(open_socks) < low and time.monotonic() < deadline:
    connect()
while time.monotonic() < deadline:
    n = len(open_socks)
    if n < low or (n < high and rng.random() < 0.5):
        connect()
    elif open_socks:
        s = open_socks.pop(rng.randrange(len(open_socks)))
        s.close()
    max_open = max(max_open, len(open_socks))
for s in open_socks:
    s.close()
print(json.dumps({"attempts": attempts, "failures": failures, "slow": slow, "maxOpen": max_open}))
