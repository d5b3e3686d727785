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
import signal
import sys
import time

from echo import EchoFlows, open_echo_flows


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def probe(host, port, interval, timeout, duration):
    flows = EchoFlows(hold=False)
    end = time.monotonic() + duration
    next_start = time.monotonic()
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    while running and (time.monotonic() < end or flows.pending() > 0):
        now = time.monotonic()
        if next_start <= now < end:
            flows.start(host, port, timeout)
            next_start = now + interval
        wait = 0.05 if now >= end else max(0.0, min(next_start - time.monotonic(), 0.05))
        for flow in flows.step(wait):
            r = flow.result
            emit({"t": r["t"], "done": r["done"], "ok": r["ok"], "error": r["error"]})


def summary(results, seconds, destinations):
    errors = {}
    per_source = {}
    for r in results:
        if r["ok"]:
            per_source[r["src"]] = per_source.get(r["src"], 0) + 1
        else:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    return {
        "count": len(results),
        "ok": sum(1 for r in results if r["ok"]),
        "seconds": round(seconds, 2),
        "errors": errors,
        "perSource": per_source,
        "destinations": destinations,
    }


def flows(spec_file):
    with open(spec_file) as f:
        spec = json.load(f)
    sources, destinations = spec["sources"], spec["destinations"]
    count, timeout, hold = spec["count"], spec["timeout"], spec["hold"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
    specs = []
    for i in range(count):
        host, port = destinations[(i // len(sources)) % len(destinations)]
        specs.append((sources[i % len(sources)], host, port))
    started = time.time()
    held = open_echo_flows(specs, timeout)
    emit(summary([f.result for f in held], time.time() - started, len(destinations)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(hold)
    for f in held:
        f.close()


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "flows":
        flows(sys.argv[2])
    else:
        sys.exit(f"prober.py: unknown mode {sys.argv[1]}")
