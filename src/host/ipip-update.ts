import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { IpipPlan } from "../plan/ipip-plan.ts";
import {
  expandUpdateUrl,
  scrubSecrets,
  updateVerdict,
  type UpdateVerdict,
} from "../provision/ipip-update.ts";
import type { IpipAccount } from "./ipip-credentials.ts";

/** An update server's answer is a line or a small page; more is not read. */
const MAX_UPDATE_BODY = 64 * 1024;
export const UPDATE_TIMEOUT_MS = 10_000;

export interface UpdateCall {
  readonly plan: Pick<IpipPlan, "update" | "ceAddress" | "ipv4Address">;
  /** The line's prefix as registered, e.g. 2001:db8:1200:3400::/56. */
  readonly prefix: string;
  readonly account: IpipAccount;
  readonly timeoutMs?: number;
}

/**
 * Calls the provider's update URL once: one deadline for the whole exchange (connection, TLS,
 * headers and body), certificates checked as for any https URL. Never throws: a network failure is
 * a `failed` verdict. The password is in the request only; every detail returned is scrubbed of it.
 */
export async function callUpdateUrl(call: UpdateCall): Promise<UpdateVerdict> {
  const update = call.plan.update;
  if (update === null) return { kind: "registered", detail: "no update URL: nothing to register" };
  const secrets = [call.account.password];
  const { url, authorization } = expandUpdateUrl(update.url, {
    user: call.account.user,
    password: call.account.password,
    ipv6: call.plan.ceAddress,
    prefix: call.prefix,
    ipv4: call.plan.ipv4Address,
  });
  const timeoutMs = call.timeoutMs ?? UPDATE_TIMEOUT_MS;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<UpdateVerdict>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ kind: "failed", detail: `no answer from the update server in ${timeoutMs / 1000} s` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([get(url, authorization, controller.signal, secrets), late]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function get(
  urlText: string,
  authorization: string | null,
  signal: AbortSignal,
  secrets: readonly string[],
): Promise<UpdateVerdict> {
  const url = new URL(urlText);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise<UpdateVerdict>((resolve) => {
    const req = request(
      {
        host,
        port: url.port === "" ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: {
          Host: url.host,
          "User-Agent": "mapectl",
          ...(authorization === null ? {} : { Authorization: authorization }),
        },
        agent: false,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_UPDATE_BODY) res.destroy();
          else chunks.push(chunk);
        });
        res.on("close", () => {
          resolve(updateVerdict(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"), secrets));
        });
      },
    );
    req.on("error", (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      const what = code === undefined ? err.message : `${err.message} (${code})`;
      resolve({ kind: "failed", detail: scrubSecrets(`the update server: ${what}`, secrets) });
    });
    req.end();
  });
}
