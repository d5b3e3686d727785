import { JSON_HELP } from "../common-options.ts";
import type { Command } from "commander";
import { CHECK_IDS } from "../../diagnose/findings.ts";
import { collect } from "../common-options.ts";
import { requestExit } from "../exit-codes.ts";
import type { DoctorFlags } from "../actions/doctor.ts";
import type { Output } from "../output.ts";

export function registerDoctor(program: Command, output: Output): void {
  program
    .command("doctor")
    .summary("explain why IPv4 (MAP-E, DS-Lite, IPIP) does not work on this router, and how to fix it")
    .description(
      "Read the live host (tunnel, addresses, routes, neighbours, nft ruleset), compute what this line's\n" +
        "prefix needs, and compare: every check has a stable id, a verdict, the evidence and the fix.\n" +
        "Works on routers configured by hand (VyOS, scripts) as well as by mapectl. Exit status 6 when a check fails.\n" +
        "On VyOS it also reads VyOS's own tables: conntrack switched off before mapectl's NAT, a VyOS filter\n" +
        "dropping the tunnel's replies or the BR's packets, a stale boot table file.\n" +
        `Check ids: ${CHECK_IDS.join(", ")}.`,
    )
    .option("--config <file>", "configuration file (an IPIP line's account and update URL are read from it)")
    .option(
      "--method <method>",
      "map-e, ds-lite, ipip or auto: whose checks run (default: the applied plan's, else the configuration's)",
    )
    .option("--aftr <name|address>", "DS-Lite: the AFTR this line should use (default: the applied plan's)")
    .option(
      "--resolver <address>",
      "DS-Lite: a DNS server of the line, to resolve the AFTR's name with (repeatable)",
      collect,
    )
    .option("--wan <if>", "the WAN interface (default: the tunnel's underlying device)")
    .option("--prefix <prefix>", "the delegated prefix (default: read from the WAN)")
    .option("--br <address>", "the BR this line should use (default: from the rule tables)")
    .option("--rules-file <file>", "add rules from a JSON file (repeatable)", collect)
    .option("--vyos", "give fixes as VyOS configuration lines even when not detected")
    .option("--probe", "also send ICMP, UDP and TCP probes through the tunnel and watch the WAN")
    .option("--probe-target <ipv4>", "where the probes go (default 8.8.8.8)")
    .option("--json", JSON_HELP)
    .action(async (flags: DoctorFlags) => {
      const { runDoctor } = await import("../actions/doctor.ts");
      const code = await runDoctor(flags, output);
      requestExit(code);
    });
}
