import { run } from "./main.ts";

// A reader that stops early (`| head -1`) closes the pipe: the rest of the output has nowhere to
// go and is not an error. Without this handler node prints an EPIPE trace on the next write.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
    process.exitCode = 1;
  });
}

// process.exitCode rather than process.exit() so pending stdout is flushed when piped.
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
