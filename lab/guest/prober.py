#!/usr/bin/python3
"""Long-running traffic from the lan side for the daemon's tests; one JSON object per line, flushed.

probe HOST PORT INTERVAL TIMEOUT DURATION
    Every INTERVAL seconds a new TCP connection (a new NAT tuple) that sends a line and waits for its
    echo, several in flight at once so one lost SYN does not delay the next; one line per attempt:
    {"t": start, "done": end, "ok": bool, "error": ...}, times from the guest's clock (time.time()),
    the same clock the other namespaces' timestamps use.
flows SPEC_FILE
    SPEC_FILE is JSON {"sources": [...], "destinations": [[host, port], ...], "count": N,
    "timeout": S, "hold": S}: N concurrent connections, round robin over the sources (bound as local
    address) and destinations, each sends a line and waits for its echo. Prints one summary line
    when all are done (or timed out), then keeps them all open for "hold" seconds or until SIGTERM,
    so conntrack and the NAT can be read while every flow is established.
"""
import json
import resource
import selectors
import signal
import socket
import sys
import time

PAYLOAD = b"mapectl-lab\n"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def probe(host, port, interval, timeout, duration):
    sel = selectors.DefaultSelector()
    end = time.monotonic() + duration
    next_start = time.monotonic()
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    while running and (time.monotonic() < end or sel.get_map()):
        now = time.monotonic()
        if now >= next_start and now < end:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            sel.register(s, selectors.EVENT_WRITE, {"t": time.time(), "deadline": now + timeout})
            next_start = now + interval
        wait = max(0.0, min(next_start - time.monotonic(), 0.05))
        for key, events in sel.select(wait):
            s, info = key.fileobj, key.data
            if events & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    emit({"t": info["t"], "done": time.time(), "ok": False, "error": f"connect: errno {err}"})
                    sel.unregister(s)
                    s.close()
                    continue
                s.send(PAYLOAD)
                sel.modify(s, selectors.EVENT_READ, info)
            else:
                try:
                    data = s.recv(4096)
                except OSError as e:
                    data = f"recv: {e}".encode()
                ok = data == PAYLOAD
                emit({"t": info["t"], "done": time.time(), "ok": ok, "error": None if ok else repr(data)[:80]})
                sel.unregister(s)
                s.close()
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            if now > key.data["deadline"]:
                emit({"t": key.data["t"], "done": time.time(), "ok": False, "error": "timeout"})
                sel.unregister(key.fileobj)
                key.fileobj.close()


def flows(spec_file):
    with open(spec_file) as f:
        spec = json.load(f)
    sources, destinations = spec["sources"], spec["destinations"]
    count, timeout, hold = spec["count"], spec["timeout"], spec["hold"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
    sel = selectors.DefaultSelector()
    socks = []
    results = []
    started = time.time()
    deadline = time.monotonic() + timeout
    for i in range(count):
        src = sources[i % len(sources)]
        host, port = destinations[(i // len(sources)) % len(destinations)]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        s.connect_ex((host, port))
        sel.register(s, selectors.EVENT_WRITE, i)
        socks.append(s)
        results.append({"src": src, "dst": f"{host}:{port}", "ok": False, "error": "timeout"})
    pending = count
    while pending > 0 and time.monotonic() < deadline:
        for key, events in sel.select(max(0.0, deadline - time.monotonic())):
            s, i = key.fileobj, key.data
            if events & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    results[i]["error"] = f"connect: errno {err}"
                    sel.unregister(s)
                    pending -= 1
                    continue
                s.send(PAYLOAD)
                sel.modify(s, selectors.EVENT_READ, i)
            else:
                data = s.recv(4096)
                results[i]["ok"] = data == PAYLOAD
                results[i]["error"] = None if data == PAYLOAD else f"echo {data!r}"[:80]
                sel.unregister(s)
                pending -= 1
    errors = {}
    for r in results:
        if not r["ok"]:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    per_source = {}
    for r in results:
        if r["ok"]:
            per_source[r["src"]] = per_source.get(r["src"], 0) + 1
    emit(
        {
            "count": count,
            "ok": sum(1 for r in results if r["ok"]),
            "seconds": round(time.time() - started, 2),
            "errors": errors,
            "perSource": per_source,
            "destinations": len(destinations),
        }
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(hold)
    for s in socks:
        s.close()


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "flows":
        flows(sys.argv[2])
    else:
        sys.exit(f"prober.py: unknown mode {sys.argv[1]}")
