// The provider's update server of a fixed-IPv4 IPIP line, for the lab and the host tests: a GET
// with the account and the CE's new address registers the CE; a wrong account is refused (401 and
// "NG: authentication failed", as providers' servers say it). On each registration it runs the
// hook (an argv array, never a shell string) with the CE address and the fixed IPv4 appended, which
// in the lab points the BR's tunnel at the registered CE: before that the BR drops the CE's packets.
//
//   node ipip-update-server.mjs CONFIG.json
//   CONFIG: {listen, port, accounts: {user: password}, log, hook: [argv...] | null, hang: bool}
import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { isIPv4, isIPv6 } from "node:net";
import { Buffer } from "node:buffer";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

function record(entry) {
  appendFileSync(config.log, `${JSON.stringify({ at: Date.now(), ...entry })}\n`);
}

/** The account from the query (user, pass) or from Basic authentication. */
function account(url, headers) {
  const basic = /^Basic (.+)$/.exec(headers.authorization ?? "");
  if (basic !== null) {
    const text = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = text.indexOf(":");
    return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
  }
  return { user: url.searchParams.get("user") ?? "", pass: url.searchParams.get("pass") ?? "" };
}

const server = createServer((req, res) => {
  if (config.hang) return; // never answers: the client's deadline must end the call
  const url = new URL(req.url ?? "/", "http://update.invalid");
  const { user, pass } = account(url, req.headers);
  const ipv6 = url.searchParams.get("ipv6") ?? "";
  const ipv4 = url.searchParams.get("ipv4") ?? "";
  const prefix = url.searchParams.get("prefix") ?? "";
  if (!Object.hasOwn(config.accounts, user) || config.accounts[user] !== pass) {
    record({ refused: user });
    res.writeHead(401, { "Content-Type": "text/plain" });
    res.end("NG: authentication failed\n");
    return;
  }
  if (config.hook !== null && (!isIPv6(ipv6) || !isIPv4(ipv4))) {
    record({ badRequest: user });
    res.writeHead(400, { "Content-Type": "text/plain" });
    res.end("NG: ipv6 and ipv4 must be addresses\n");
    return;
  }
  try {
    if (config.hook !== null) execFileSync(config.hook[0], [...config.hook.slice(1), ipv6, ipv4]);
  } catch (err) {
    record({ hookFailed: String(err.message).split("\n")[0] });
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end("NG: registration failed\n");
    return;
  }
  record({ registered: user, ipv6, ipv4, prefix });
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end(`OK ${ipv6}\n`);
});

server.listen(config.port, config.listen, () => {
  record({ listening: `[${config.listen}]:${config.port}` });
});
