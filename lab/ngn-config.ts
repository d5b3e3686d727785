import { formatIpv6Prefix, parseIpv6Prefix } from "../src/mape/ipv6.ts";
import { AFTR_ADDRESS, AFTR_NAME, NGN } from "./addresses.ts";
import { labV6migAnswer } from "./v6mig-answers.ts";

/** Kea serves the delegated /56 (DHCPv6-PD) on the line, with the NGN's resolver. */
export function keaConfig(prefix: string, leaseDir: string): unknown {
  const p = parseIpv6Prefix(prefix);
  const network = formatIpv6Prefix(p).split("/")[0];
  return {
    Dhcp6: {
      "interfaces-config": { interfaces: [NGN.bridge] },
      // Leases live only as long as the server: a new prefix must not collide with an old lease.
      "lease-database": { type: "memfile", persist: false },
      "data-directory": leaseDir,
      "renew-timer": 600,
      "rebind-timer": 900,
      "preferred-lifetime": 1200,
      "valid-lifetime": 1800,
      "option-data": [{ name: "dns-servers", data: NGN.dns }],
      subnet6: [
        {
          id: 1,
          subnet: NGN.keaSubnet,
          interface: NGN.bridge,
          "pd-pools": [{ prefix: network, "prefix-len": p.length, "delegated-len": p.length }],
        },
      ],
      loggers: [{ name: "kea-dhcp6", output_options: [{ output: "stdout" }], severity: "INFO" }],
    },
  };
}

/** RA as the NGN sends it on a PD line: M and O set, no prefix to autoconfigure, RDNSS. */
export function radvdConfig(): string {
  return `interface ${NGN.bridge} {
  AdvSendAdvert on;
  AdvManagedFlag on;
  AdvOtherConfigFlag on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 10;
  AdvDefaultLifetime 1800;
  RDNSS ${NGN.dns} {
  };
};
`;
}

/** The HB46PP TXT record: where the CE finds its provisioning server (t=b: verify the certificate). */
export function v6migTxt(): string {
  return `v=v6mig-1 url=https://${NGN.provisioningHost}/config t=b`;
}

/** unbound as the NGN's resolver: authoritative only for 4over6.info and the lab's own names. */
export function unboundConfig(dir: string, txt: string | null, aftrAddress = AFTR_ADDRESS): string {
  const lines = [
    "server:",
    `  interface: ${NGN.dns}`,
    "  do-ip4: no",
    "  access-control: ::/0 allow",
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    "  use-syslog: no",
    '  logfile: ""',
    "  do-daemonize: no",
    '  module-config: "iterator"',
    "  num-threads: 1",
    "  log-queries: yes",
    '  local-zone: "4over6.info." static',
  ];
  if (txt !== null) lines.push(`  local-data: '4over6.info. 300 IN TXT "${txt}"'`);
  lines.push(
    '  local-zone: "ngn.test." static',
    `  local-data: "${NGN.provisioningHost}. 300 IN AAAA ${NGN.provisioningAddress}"`,
    // the lab AFTR's name (lab/aftr.ts), as a DS-Lite line's HB46PP answer gives it
    `  local-data: "${AFTR_NAME}. 60 IN AAAA ${aftrAddress}"`,
    "remote-control:",
    "  control-enable: no",
  );
  return lines.join("\n") + "\n";
}

/** The v6mig provisioning answer for a prefix: typed in (lab/v6mig-answers.ts), not from our tables. */
export function v6migAnswer(prefix: string): Record<string, unknown> {
  return labV6migAnswer(prefix);
}
