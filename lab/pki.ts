import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { INET, NGN } from "./addresses.ts";
import { runHost } from "./host-command.ts";
import { cacheRoot } from "./paths.ts";

export interface LabPki {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/**
 * A private CA and one server certificate for the HB46PP server and the inet HTTPS server, made
 * once with openssl into the cache. The CE trusts the CA the lab hands it, like a router trusting
 * the public CAs; nothing on the host trusts it.
 */
export function preparePki(): LabPki {
  const dir = join(cacheRoot(), "pki");
  const pki: LabPki = {
    caCert: join(dir, "ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
  };
  if (existsSync(pki.caCert) && existsSync(pki.serverCert) && existsSync(pki.serverKey)) return pki;
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  issueCertificates(work);
  if (!readFileSync(join(work, "server.pem"), "utf8").includes("BEGIN CERTIFICATE")) {
    throw new Error("openssl made no server certificate");
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return pki;
}

/** The CA and the server certificate for the HB46PP host and the inet HTTPS hosts, made in `work`. */
function issueCertificates(work: string): void {
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  runHost(
    [
      "openssl",
      "req",
      "-x509",
      ...ecKey,
      "-days",
      "3650",
      "-subj",
      "/CN=mapectl lab CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ],
    { cwd: work },
  );
  runHost(
    [
      "openssl",
      "req",
      "-new",
      ...ecKey,
      "-subj",
      `/CN=${NGN.provisioningHost}`,
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    ],
    { cwd: work },
  );
  const sans = [
    `DNS:${NGN.provisioningHost}`,
    `IP:${NGN.provisioningAddress}`,
    ...INET.hosts.map((h) => `IP:${h}`),
  ];
  writeFileSync(
    join(work, "server.ext"),
    `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  runHost(
    [
      "openssl",
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      "server.ext",
      "-out",
      "server.pem",
    ],
    { cwd: work },
  );
}
