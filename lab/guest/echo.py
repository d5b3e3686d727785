"""TCP echo flows from the lan side: each connects, sends one line and waits for the same line back.

Many flows run at once on one selector, each with its own deadline, and each ends with its own
result: a refused, reset or silent connection is one failed flow, never the end of the run.

A result is a dict: {"src", "dst": "host:port", "localPort", "t", "done" (time.time(), the guest's
clock, which other namespaces' timestamps share), "seconds", "ok", "error"} with error one of
"connect: errno N", "send: ...", "recv: ...", "closed by peer", "echo b'...'" or "timeout".
"""
import heapq
import itertools
import selectors
import socket
import time

PAYLOAD = b"mapectl-lab\n"


class Flow:
    """One echo flow; once it echoed it stays open (when its engine holds flows) until close()."""

    def __init__(self, src, host, port, timeout):
        self.sock = None
        self.received = b""
        self.deadline = time.monotonic() + timeout
        self.started = time.monotonic()
        self.result = {
            "src": src,
            "dst": f"{host}:{port}",
            "localPort": None,
            "t": time.time(),
            "done": None,
            "seconds": None,
            "ok": False,
            "error": "timeout",
        }

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class EchoFlows:
    """Drives any number of flows; start() adds one, step() advances all and returns those that ended."""

    def __init__(self, hold=True, payload=PAYLOAD):
        self.sel = selectors.DefaultSelector()
        self.hold = hold
        self.payload = payload
        self.ended = []
        self.deadlines = []
        self.order = itertools.count()

    def start(self, host, port, timeout, src=None):
        flow = Flow(src, host, port, timeout)
        try:
            flow.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            flow.sock.setblocking(False)
            if src is not None:
                flow.sock.bind((src, 0))
            flow.sock.connect_ex((host, port))
            flow.result["localPort"] = flow.sock.getsockname()[1]
        except OSError as e:
            self._end(flow, f"connect: {e}", registered=False)
            return flow
        self.sel.register(flow.sock, selectors.EVENT_WRITE, flow)
        heapq.heappush(self.deadlines, (flow.deadline, next(self.order), flow))
        return flow

    def pending(self):
        return len(self.sel.get_map())

    def step(self, wait):
        for key, events in self.sel.select(wait):
            if events & selectors.EVENT_WRITE:
                self._connected(key.data)
            else:
                self._readable(key.data)
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] < now:
            flow = heapq.heappop(self.deadlines)[2]
            if flow.result["done"] is None:
                self._end(flow, "timeout")
        ended, self.ended = self.ended, []
        return ended

    def close(self):
        self.sel.close()

    def _connected(self, flow):
        err = flow.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            self._end(flow, f"connect: errno {err}")
            return
        try:
            flow.sock.send(self.payload)
        except OSError as e:
            self._end(flow, f"send: {e}")
            return
        self.sel.modify(flow.sock, selectors.EVENT_READ, flow)

    def _readable(self, flow):
        try:
            data = flow.sock.recv(4096)
        except OSError as e:
            self._end(flow, f"recv: {e}")
            return
        if data == b"":
            self._end(flow, "closed by peer")
            return
        flow.received += data
        if flow.received == self.payload:
            self._end(flow, None)
        elif not self.payload.startswith(flow.received):
            self._end(flow, f"echo {flow.received!r}"[:80])

    def _end(self, flow, error, registered=True):
        if registered:
            self.sel.unregister(flow.sock)
        flow.result["ok"] = error is None
        flow.result["error"] = error
        flow.result["done"] = time.time()
        flow.result["seconds"] = round(time.monotonic() - flow.started, 4)
        if error is not None or not self.hold:
            flow.close()
        self.ended.append(flow)


def open_echo_flows(specs, timeout, hold=True):
    """Opens one flow per (src or None, host, port) at once and returns them in order once each has
    ended; with hold, those that echoed stay open (each keeps its NAT tuple) until closed."""
    engine = EchoFlows(hold)
    flows = [engine.start(host, port, timeout, src) for src, host, port in specs]
    while engine.pending() > 0:
        engine.step(0.5)
    engine.close()
    return flows
