import { connect, type Socket } from "node:net";

/** A reply of the guest agent, tagged with the request's id. */
export type AgentReply = Record<string, unknown> & { id: number | null; error?: string };

interface Pending {
  resolve: (reply: AgentReply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** The host side of the agent's JSON-lines protocol over qemu's chardev socket. */
export class AgentClient {
  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = "";
  private closedWith: Error | null = null;
  private readyWaiter: ((reply: AgentReply) => void) | null = null;
  private readyReply: AgentReply | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.onData(chunk);
    });
    const closed = (why: string): void => {
      this.closedWith ??= new Error(why);
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(this.closedWith);
        this.pending.delete(id);
      }
    };
    socket.on("error", (err) => {
      closed(`lab agent connection failed: ${err.message}`);
    });
    socket.on("close", () => {
      closed("lab agent connection closed (the VM stopped)");
    });
  }

  /** Connects to qemu's socket, retrying while qemu is still creating it. */
  static async connect(path: string, timeoutMs: number): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolveConnect, rejectConnect) => {
          const s = connect(path);
          s.once("connect", () => {
            s.removeAllListeners("error");
            resolveConnect(s);
          });
          s.once("error", rejectConnect);
        });
        return new AgentClient(socket);
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`cannot connect to ${path}: ${(err as Error).message}`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      let reply: AgentReply;
      try {
        reply = JSON.parse(line) as AgentReply;
      } catch {
        continue; // console noise before the agent starts
      }
      if (reply.id === 0 && reply.ready === true) {
        this.readyReply = reply;
        this.readyWaiter?.(reply);
        continue;
      }
      if (typeof reply.id !== "number") continue;
      const p = this.pending.get(reply.id);
      if (p === undefined) continue;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      p.resolve(reply);
    }
  }

  /** Resolves with the agent's first line ("ready", with the guest's uptime). */
  waitReady(timeoutMs: number): Promise<AgentReply> {
    if (this.readyReply !== null) return Promise.resolve(this.readyReply);
    return new Promise((resolveReady, rejectReady) => {
      const timer = setTimeout(() => {
        rejectReady(new Error(`the lab agent did not start within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.readyWaiter = (reply) => {
        clearTimeout(timer);
        resolveReady(reply);
      };
      this.socket.once("close", () => {
        clearTimeout(timer);
        rejectReady(this.closedWith ?? new Error("the VM stopped before its agent started"));
      });
    });
  }

  request(message: Record<string, unknown>, timeoutMs: number): Promise<AgentReply> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise((resolveRequest, rejectRequest) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        rejectRequest(
          new Error(`lab agent: no answer to ${String(message.op)} within ${timeoutMs / 1000} s`),
        );
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (reply) => {
          if (typeof reply.error === "string") rejectRequest(new Error(`lab agent: ${reply.error}`));
          else resolveRequest(reply);
        },
        reject: rejectRequest,
        timer,
      });
      this.socket.write(JSON.stringify({ ...message, id }) + "\n");
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
