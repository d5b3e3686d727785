// What the lab's up tests read under the fold allocator, and the echo programs of its port forward case.

/**
 * conntrack holds the port the kernel allocated from 16-255 (the fold allocator, the default);
 * on the wire allocated port i·16 + j is i·4096 + PSID·16 + j (RFC 7597, a = 4, k = 8), spelled
 * out here on its own.
 */
export function wirePort(allocated: number, psid: number): number {
  if (allocated < 16 || allocated > 255) return allocated;
  return Math.floor(allocated / 16) * 4096 + psid * 16 + (allocated % 16);
}

/** A TCP echo server on port 7007 (python3 in the lab guest). */
export const ECHO_SERVER =
  "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 7007)); s.listen()\nwhile True:\n  c,_=s.accept(); c.sendall(c.recv(100)); c.close()";
/** Its client: PORT is replaced by the forward's outside port. */
export const ECHO_CLIENT =
  "import socket; s=socket.create_connection(('133.209.13.2', PORT), timeout=5); s.sendall(b'hi\\n'); print(s.recv(10).decode().strip())";
