import { Argument, type Command } from "commander";
import type { Output } from "../output.ts";

const SHELLS = ["bash", "zsh"] as const;

const FILES: readonly (readonly [string, string])[] = [
  [
    "/etc/mapectl/config.toml",
    "The configuration (WAN, LAN, parameters, tunnel, port forwards); every option overrides it.",
  ],
  [
    "/var/lib/mapectl/state.json",
    "What mapectl up applied, so that down removes exactly that and status compares the host with it.",
  ],
  [
    "/var/lib/mapectl/install.json",
    "What mapectl install wrote, so that mapectl uninstall removes exactly that (Debian).",
  ],
  [
    "/lib/systemd/system/mapectl.service",
    "The daemon's unit from the package; mapectl install writes /etc/systemd/system/mapectl.service.",
  ],
  [
    "/config/mapectl/",
    "On VyOS: the executable, config.toml, mapectl.service, mapectl.nft and install.json; /config survives image upgrades.",
  ],
  [
    "/config/mapectl/mapectl.nft",
    "On VyOS: the NAPT table the boot hook loads. install writes it when the configuration plans; up and the daemon rewrite it whenever it differs from the table they load; down removes it (MAPECTL_BOOT_TABLE overrides the path).",
  ],
  [
    "/config/scripts/vyos-postconfig-bootup.script",
    "On VyOS: loads the NAPT table and starts the daemon at boot (the block between BEGIN and END mapectl; install and render --output-dir change only that block).",
  ],
];

const DESCRIPTION = `mapectl computes the MAP-E parameters of a line from its delegated IPv6 prefix (the shipped
rule tables, HB46PP, DHCPv6 S46 or a manual rule) and makes IPv4 work on the router: the ip4ip6
tunnel to the BR, the CE address, the routes, and the NAPT into the line's port set in an
nftables table of its own. up applies that plan, down removes it, status and doctor compare the
host with it, watch keeps it in line when the prefix changes, and render prints it for VyOS,
nftables, a shell script or systemd-networkd.`;

const EXAMPLES: readonly (readonly [string, string])[] = [
  ["The parameters of a delegated prefix:", "mapectl calc 2404:7a82:4d02:4100::/56"],
  [
    "Bring MAP-E up on the router, first without changing anything:",
    "mapectl up --wan eth1 --lan eth2 --dry-run\nmapectl up --wan eth1 --lan eth2",
  ],
  [
    "VyOS configuration made on another machine:",
    "mapectl render --target vyos --prefix 2404:7a82:4d02:4100::/56 \\\n    --wan eth1 --lan eth2 --gateway fe80::a611:bbff:fe7d:ee11",
  ],
  ["Install the daemon on VyOS so that it survives image upgrades:", "sudo mapectl install --target vyos"],
];

function root(command: Command): Command {
  let c = command;
  while (c.parent !== null) c = c.parent;
  return c;
}

/** Captures the program's --help exactly as `mapectl --help` prints it, after-text included. */
function helpText(program: Command): string {
  const saved = program.configureOutput();
  let text = "";
  program.configureOutput({ ...saved, writeOut: (s) => (text += s) });
  try {
    program.outputHelp();
  } finally {
    program.configureOutput(saved);
  }
  return text;
}

export function registerDocs(program: Command, output: Output): void {
  program
    .command("completion")
    .summary("print a shell completion script (bash or zsh)")
    .description(
      "Print a completion script made from the same command definitions as --help. For bash:\n" +
        "  mapectl completion bash > /etc/bash_completion.d/mapectl",
    )
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .action(async (shell: (typeof SHELLS)[number], _options: unknown, command: Command) => {
      const { bashCompletion, zshCompletion } = await import("./completion.ts");
      output.out(shell === "bash" ? bashCompletion(root(command)) : zshCompletion(root(command)));
    });
  program
    .command("manpage", { hidden: true })
    .description("print mapectl(8) in roff, made from the same command definitions as --help")
    .action(async (_options: unknown, command: Command) => {
      const { renderManPage } = await import("./man.ts");
      const top = root(command);
      output.out(
        renderManPage(top, {
          help: helpText(top),
          description: DESCRIPTION,
          version: top.version() ?? "",
          files: FILES,
          examples: EXAMPLES,
        }),
      );
    });
}
