#!/usr/bin/python3
"""Traffic from the lan client, one process per probe, printing one JSON object.

tcp HOST PORT COUNT TIMEOUT   COUNT concurrent connections, each sends a line and waits for its echo;
                              all stay open until every one has finished, so each holds a NAT tuple.
                              "results" has one entry per connection (echo.py's result).
udp HOST PORT COUNT TIMEOUT   COUNT datagrams from COUNT sockets, each waits for its echo.
"""
import json
import selectors
import socket
import sys
import time

from echo import open_echo_flows


def tcp(host, port, count, timeout):
    flows = open_echo_flows([(None, host, port)] * count, timeout)
    results = [f.result for f in flows]
    for f in flows:
        f.close()
    ok = sum(1 for r in results if r["ok"])
    print(json.dumps({"proto": "tcp", "count": count, "ok": ok, "results": results}))


def udp(host, port, count, timeout):
    sel = selectors.DefaultSelector()
    results = []
    socks = []
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((host, port))
        s.send(b"mapectl-lab %d\n" % i)
        sel.register(s, selectors.EVENT_READ, i)
        socks.append(s)
        results.append({"localPort": s.getsockname()[1], "ok": False})
    deadline = time.monotonic() + timeout
    pending = count
    while pending > 0 and time.monotonic() < deadline:
        for key, _events in sel.select(max(0.0, deadline - time.monotonic())):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                continue
            results[key.data]["ok"] = data.startswith(b"mapectl-lab")
            sel.unregister(key.fileobj)
            pending -= 1
    for s in socks:
        s.close()
    ok = sum(1 for r in results if r["ok"])
    print(json.dumps({"proto": "udp", "count": count, "ok": ok, "results": results}))


if __name__ == "__main__":
    kind, host, port, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    {"tcp": tcp, "udp": udp}[kind](host, port, count, timeout)
