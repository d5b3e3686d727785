// The lab's agent inside the guest. The host sends one JSON request per line over a virtio-serial
// port; the agent runs argv arrays (never shell strings) in a named network namespace and answers
// one JSON line per request, tagged with the request's id. When the host hangs up, the agent kills
// what it started and exits, and stage 2 reboots the guest, so a dead test process never leaves a
// VM behind.
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import {
  createReadStream,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  write,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { clearTimeout, setImmediate, setTimeout } from "node:timers";

const PORT_NAME = "org.mapectl.agent";
const MAX_OUTPUT = 32 * 1024 * 1024;

function findPort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    for (const dev of readdirSync("/sys/class/virtio-ports")) {
      const name = readFileSync(`/sys/class/virtio-ports/${dev}/name`, "utf8").trim();
      if (name === PORT_NAME) return `/dev/${dev}`;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  throw new Error(`no virtio port named ${PORT_NAME}`);
}

const fd = openSync(findPort(), "r+");
let writing = Promise.resolve();

function send(message) {
  const data = Buffer.from(JSON.stringify(message) + "\n");
  writing = writing.then(
    () =>
      new Promise((resolveWrite) => {
        const loop = (offset) => {
          if (offset >= data.length) return resolveWrite();
          write(fd, data, offset, data.length - offset, null, (err, n) => {
            if (err) {
              process.stderr.write(`agent: write failed: ${err.message}\n`);
              return resolveWrite();
            }
            loop(offset + n);
          });
        };
        loop(0);
      }),
  );
}

const daemons = new Map();

function withNamespace(ns, argv) {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
    throw new Error("argv must be a non-empty array of strings");
  }
  return ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
}

function exec(req) {
  const argv = withNamespace(req.ns, req.argv);
  return new Promise((resolveExec) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...(req.env ?? {}) },
    });
    const out = [];
    const err = [];
    let size = 0;
    let timedOut = false;
    const collect = (list) => (chunk) => {
      size += chunk.length;
      if (size <= MAX_OUTPUT) list.push(chunk);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, req.timeoutMs ?? 60000);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolveExec({ code: 127, signal: null, timedOut, stdout: "", stderr: `${argv[0]}: ${error.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveExec({
        code: code ?? 128,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(req.input ?? "");
  });
}

function startDaemon(req) {
  const argv = withNamespace(req.ns, req.argv);
  mkdirSync(dirname(req.log), { recursive: true });
  const logFd = openSync(req.log, "a");
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ["ignore", logFd, logFd],
    detached: true,
    env: { ...process.env, ...(req.env ?? {}) },
  });
  return new Promise((resolveStart) => {
    child.on("error", (error) => resolveStart({ error: `${argv[0]}: ${error.message}` }));
    child.on("spawn", () => {
      daemons.set(child.pid, { name: req.name, child, exit: null });
      resolveStart({ pid: child.pid });
    });
    child.on("exit", (code, signal) => {
      const entry = daemons.get(child.pid);
      if (entry) entry.exit = { code, signal };
    });
  });
}

function stopDaemon(req) {
  const entry = daemons.get(req.pid);
  if (!entry) return { stopped: false };
  if (entry.exit === null) {
    try {
      process.kill(-req.pid, req.signal ?? "SIGTERM");
    } catch {
      // already gone
    }
  }
  return new Promise((resolveStop) => {
    const done = () => {
      daemons.delete(req.pid);
      resolveStop({ stopped: true, exit: entry.exit });
    };
    if (entry.exit !== null) return done();
    const timer = setTimeout(() => {
      try {
        process.kill(-req.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, req.graceMs ?? 3000);
    entry.child.on("exit", () => {
      clearTimeout(timer);
      setImmediate(done);
    });
  });
}

function killAll() {
  for (const pid of daemons.keys()) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

async function handle(req) {
  switch (req.op) {
    case "ping":
      return { uptime: Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) };
    case "exec":
      return exec(req);
    case "start":
      return startDaemon(req);
    case "stop":
      return stopDaemon(req);
    case "daemons":
      return {
        daemons: [...daemons.entries()].map(([pid, d]) => ({ pid, name: d.name, exit: d.exit })),
      };
    case "write-file":
      mkdirSync(dirname(req.path), { recursive: true });
      writeFileSync(req.path, Buffer.from(req.content, req.encoding ?? "utf8"), { mode: req.mode ?? 0o644 });
      return {};
    case "read-file":
      return { content: readFileSync(req.path).toString("base64") };
    case "shutdown":
      killAll();
      setTimeout(() => process.exit(0), 100);
      return {};
    default:
      throw new Error(`unknown op ${String(req.op)}`);
  }
}

let buffered = "";
const input = createReadStream("", { fd, autoClose: false, highWaterMark: 256 * 1024 });
input.on("data", (chunk) => {
  buffered += chunk.toString("utf8");
  let newline;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.trim() === "") continue;
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      send({ id: null, error: "request is not JSON" });
      continue;
    }
    handle(req).then(
      (result) => send({ id: req.id, ...result }),
      (error) => send({ id: req.id, error: error instanceof Error ? error.message : String(error) }),
    );
  }
});
input.on("end", () => {
  process.stderr.write("agent: the host hung up\n");
  killAll();
  process.exit(0);
});
input.on("error", (error) => {
  process.stderr.write(`agent: read failed: ${error.message}\n`);
  killAll();
  process.exit(1);
});
send({ id: 0, ready: true, uptime: Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) });
