#!/usr/bin/python3
"""The lab's servers, one process per role because every exec and every import is slow under TCG.

inet:          ICMP/TCP/UDP echo, DNS, HTTP and HTTPS on every address of the namespace, and the
               recorder: one JSON line per TCP connection, UDP datagram and ICMP echo request seen,
               with the source address and port (or echo id) as they arrived from the BR.
provisioning:  the HB46PP (v6mig) provisioning server over HTTPS, as real servers behave: it places
               the CE by source address or by a token it gave earlier, answers only methods the CE
               claimed in `capability`, and can answer 307, 403, 404, 503 or slowly. The JSON file the
               host wrote is re-read on every request (so a scenario can change it); every query is
               logged with what was answered.
"""
import json
import socket
import ssl
import struct
import sys
import threading
import time

lock = threading.Lock()
# Linux's value; Python's socket module does not export it.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def record(path, entry):
    entry["t"] = round(time.time(), 3)
    line = json.dumps(entry) + "\n"
    with lock:
        with open(path, "a") as out:
            out.write(line)


def serve_forever(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def accept_forever(srv, handle):
    """Every connection to srv handled in a thread of its own, as handle(conn, peer, local)."""
    while True:
        conn, peer = srv.accept()
        serve_forever(handle, conn, peer, conn.getsockname())


def tcp_echo(port, rec):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1024)

    def handle(conn, peer, local):
        record(rec, {"proto": "tcp", "src": peer[0], "sport": peer[1], "dst": local[0], "dport": local[1]})
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    accept_forever(srv, handle)


def udp_echo(port, rec):
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
    srv.bind(("0.0.0.0", port))
    while True:
        data, anc, _flags, peer = srv.recvmsg(65536, 256)
        dst = "0.0.0.0"
        for level, kind, value in anc:
            if level == socket.SOL_IP and kind == IP_PKTINFO:
                dst = socket.inet_ntoa(value[8:12])
        record(rec, {"proto": "udp", "src": peer[0], "sport": peer[1], "dst": dst, "dport": port})
        srv.sendmsg([data], [(socket.SOL_IP, IP_PKTINFO, struct.pack("@I4s4s", 0, socket.inet_aton(dst), socket.inet_aton(dst)))], 0, peer)


def icmp_recorder(rec):
    # A raw ICMP socket gets a copy of every echo request; the kernel itself answers them.
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    while True:
        packet, peer = raw.recvfrom(65536)
        ihl = (packet[0] & 0x0F) * 4
        kind, _code, _sum, ident, seq = struct.unpack("!BBHHH", packet[ihl : ihl + 8])
        if kind == 8:
            dst = socket.inet_ntoa(packet[16:20])
            record(rec, {"proto": "icmp", "src": peer[0], "id": ident, "seq": seq, "dst": dst})


def dns_answer(query, web):
    """A minimal authoritative answer: A queries get the web address, everything else NOERROR/empty."""
    if len(query) < 12:
        return None
    ident, _flags, qdcount = struct.unpack("!HHH", query[:6])
    if qdcount != 1:
        return None
    pos = 12
    labels = []
    while pos < len(query) and query[pos] != 0:
        size = query[pos]
        labels.append(query[pos + 1 : pos + 1 + size].decode("ascii", "replace"))
        pos += 1 + size
    question_end = pos + 5
    if question_end > len(query):
        return None
    qtype, _qclass = struct.unpack("!HH", query[pos + 1 : question_end])
    question = query[12:question_end]
    answers = b""
    count = 0
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(web)
        count = 1
    header = struct.pack("!HHHHHH", ident, 0x8180 | 0x0400, 1, count, 0, 0)
    return header + question + answers, ".".join(labels), qtype


def dns_udp(rec, web):
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
    srv.bind(("0.0.0.0", 53))
    while True:
        data, anc, _flags, peer = srv.recvmsg(4096, 256)
        dst = "0.0.0.0"
        for level, kind, value in anc:
            if level == socket.SOL_IP and kind == IP_PKTINFO:
                dst = socket.inet_ntoa(value[8:12])
        answer = dns_answer(data, web)
        if answer is None:
            continue
        reply, name, qtype = answer
        record(rec, {"proto": "udp", "src": peer[0], "sport": peer[1], "dst": dst, "dport": 53, "dns": name, "qtype": qtype})
        srv.sendmsg([reply], [(socket.SOL_IP, IP_PKTINFO, struct.pack("@I4s4s", 0, socket.inet_aton(dst), socket.inet_aton(dst)))], 0, peer)


REASONS = {200: "OK", 307: "Temporary Redirect", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable"}


def http_serve(srv, rec, answer, context=None):
    """Minimal HTTP/1.0 GET server: http.server would cost seconds of imports and a reverse DNS lookup
    under TCG. answer(path, client) returns (status, body, extra fields for the record); the extra
    fields "headers" (sent) and "delay" (seconds between the head and the body) are not recorded."""

    def handle(conn, peer, local):
        try:
            if context is not None:
                conn = context.wrap_socket(conn, server_side=True)
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            path = parts[1] if len(parts) >= 2 else "/"
            status, body, extra = answer(path, peer[0]) if parts[0] == "GET" else (405, "only GET\n", {})
            headers = extra.pop("headers", {})
            delay = extra.pop("delay", 0)
            entry = {"proto": "http", "src": peer[0], "sport": peer[1], "dst": local[0], "dport": local[1], "path": path, "status": status, "tls": context is not None}
            entry.update(extra)
            record(rec, entry)
            payload = body.encode()
            kind = "application/json" if body.startswith("{") else "text/plain"
            fields = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head = f"HTTP/1.0 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n{fields}Connection: close\r\n\r\n"
            conn.sendall(head.encode())
            if delay:
                time.sleep(delay)
            conn.sendall(payload)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    accept_forever(srv, handle)


def listen(family, address, port):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((address, port))
    srv.listen(256)
    return srv


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def run_inet(args):
    rec, web, cert, key = args
    open(rec, "a").close()
    for port in (7, 9000):
        serve_forever(tcp_echo, port, rec)
    serve_forever(udp_echo, 7, rec)
    serve_forever(icmp_recorder, rec)
    serve_forever(dns_udp, rec, web)
    hello = lambda _path, _client: (200, "hello from the lab's internet\n", {})
    serve_forever(http_serve, listen(socket.AF_INET, "0.0.0.0", 80), rec, hello)
    serve_forever(http_serve, listen(socket.AF_INET, "0.0.0.0", 443), rec, hello, tls_context(cert, key))
    print("inet servers ready", flush=True)
    threading.Event().wait()


ISSUED = set()
METHODS = ("map_e", "dslite", "ipip", "map_t", "lw4o6", "464xlat")


def in_prefix(address, prefix):
    import ipaddress

    try:
        return ipaddress.ip_address(address.split("%")[0]) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False


def v6mig_token(secret, client):
    """Spec-shaped (64 lower-case hex), and the same for the same CE so a restart changes nothing."""
    import hashlib

    return hashlib.sha256(f"{secret} {client}".encode()).hexdigest()


def v6mig_answer(doc, query, client):
    """The answer real servers give: (status, body, extra). `doc` is either a plain answer (every source
    known, capability honoured) or {"scenario": {...}} with these optional keys:
      answer       the full answer, all methods the line has; trimmed to what the CE claimed
      known        source prefixes this server places (default: every source)
      unknown      what an unplaced source without a valid token gets: 403, 404 or "empty"
      capability   "honour" (default) or "ignore" (a server that answers methods not claimed)
      status       answer this HTTP status instead (403, 404, 503, ...)
      redirect     answer 307 to this URL (without the CE's query, which the CE adds back)
      delay        seconds between the head and the body
      secret       the token secret (tokens are sha256(secret, the CE's address) in hex)
    A token this process gave stands for the CE it was given to, wherever the CE asks from."""
    scenario = doc.get("scenario") if isinstance(doc, dict) and "scenario" in doc else {"answer": doc}
    extra = {"query": query, "delay": scenario.get("delay", 0)}
    if "status" in scenario:
        return scenario["status"], "", extra
    if "redirect" in scenario:
        extra["headers"] = {"Location": scenario["redirect"]}
        return 307, "", extra
    secret = scenario.get("secret", "mapectl lab")
    token_ok = query.get("token") in ISSUED
    known = scenario.get("known")
    placed = known is None or any(in_prefix(client, p) for p in known)
    extra["placed"] = "source" if placed else ("token" if token_ok else "unknown")
    answer = dict(scenario.get("answer", {}))
    if not placed and not token_ok:
        unknown = scenario.get("unknown", "empty")
        if unknown in (403, 404):
            return unknown, "", extra
        answer = {"ttl": answer.get("ttl", 3600), "order": []}
    claimed = [m for m in query.get("capability", "").split(",") if m]
    if scenario.get("capability", "honour") == "honour":
        for method in METHODS:
            if method not in claimed:
                answer.pop(method, None)
        answer["order"] = [m for m in answer.get("order", []) if m in claimed]
    if answer.get("order"):
        # The token identifies this CE at its next query even from outside the known prefixes.
        token = v6mig_token(secret, client) if placed else query["token"]
        with lock:
            ISSUED.add(token)
        answer["token"] = token
        extra["token"] = token
    else:
        answer.pop("token", None)
    extra["order"] = answer.get("order", [])
    return 200, json.dumps(answer), extra


def run_provisioning(args):
    from urllib.parse import parse_qs, urlsplit

    address, config, log, cert, key = args[:5]
    port = int(args[5]) if len(args) > 5 else 443

    def answer(path, client):
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        for secret in ("user", "pass"):
            if secret in query:
                query[secret] = "(given)"
        if parts.path != "/config":
            return 404, "not found\n", {"query": query}
        try:
            with open(config) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return 503, "no provisioning data\n", {"query": query}
        return v6mig_answer(doc, query, client)

    srv = listen(socket.AF_INET6, address, port)
    print("provisioning server ready", flush=True)
    http_serve(srv, log, answer, tls_context(cert, key))


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "inet":
        run_inet(sys.argv[2:])
    elif role == "provisioning":
        run_provisioning(sys.argv[2:])
    else:
        sys.exit(f"servers.py: unknown role {role}")
