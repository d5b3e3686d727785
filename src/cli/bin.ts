import { run } from "./main.ts";

// process.exitCode rather than process.exit() so pending stdout is flushed when piped.
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
