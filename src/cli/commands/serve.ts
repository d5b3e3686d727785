import type { Command } from "commander";
import type { ServeFlags } from "../actions/serve.ts";
import type { Output } from "../output.ts";

export function registerServe(program: Command, output: Output): void {
  program
    .command("serve")
    .summary("a read-only web page of this router's MAP-E, and a calculator that works offline")
    .description(
      "Serve a page with the parameters, the port map (the line's port blocks and how busy each is), the\n" +
        "tunnel counters, doctor's verdicts and the daemon's recent events, updating every 2 s; and at /calc\n" +
        "a calculator that runs in the browser, for any prefix. Loopback only unless --listen says otherwise.",
    )
    .option(
      "--listen <address:port>",
      "where to listen: an IP address and port, [v6]:port for IPv6 (default 127.0.0.1:8146)",
    )
    .action(async (flags: ServeFlags) => {
      const { runServe } = await import("../actions/serve.ts");
      await runServe(flags, output);
    });
}
