import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { DecodeError } from "../../../src/provision/errors.ts";
import { fromHex } from "../../../src/provision/bytes.ts";
import type { HttpAnswer, Hb46ppIo, TxtLookup } from "../../../src/provision/hb46pp-flow.ts";

const DIR = new URL("../../fixtures/dhcpv6/", import.meta.url);

/** An annotated hex fixture of test/fixtures/dhcpv6 as bytes. */
export function fixture(name: string): Uint8Array {
  return fromHex(readFileSync(new URL(name, DIR), "utf8"));
}

/** Every regression input kept in test/fixtures/dhcpv6/regressions, by file name. */
export function regressionFixtures(): [string, Uint8Array][] {
  const dir = new URL("regressions/", DIR);
  return readdirSync(dir)
    .filter((n) => n.endsWith(".hex"))
    .sort()
    .map((n) => [n, fromHex(readFileSync(new URL(n, dir), "utf8"))]);
}

/** The example answer of the HB46PP spec §3.4, trimmed to what a MAP-E CE meets. */
export const SPEC_EXAMPLE = {
  enabler_name: "A VNE",
  service_name: "Highspeed 4over6",
  isp_name: "ISP-A",
  ttl: 86400,
  token: "640756965820d3b9025b6941f9590af6802830ba58663fe8f043dc92b576f17a",
  auth: "ok",
  order: ["464xlat", "map_e", "dslite"],
  map_e: {
    version: 0,
    mesh: true,
    br: "2001:db8:1::1",
    rules: [{ ipv6: "2001:db8:1:2000::/52", ipv4: "203.0.113.0/24", ea_length: 12, psid_offset: 4 }],
  },
  dslite: { aftr: "aftr.example.net" },
  "464xlat": { nat64prefix: "2001:db8:6::/96" },
  ipip: [{ ipv6_local: "2001:db8:7:100::7", ipv6_remote: "2001:db8:7::1", ipv4: "203.0.113.0/29" }],
};

/** A BIGLOBE-like HB46PP answer for the seed user's prefix 2404:7a82:4d02:4100::/56. */
export const BIGLOBE_REPLY = {
  enabler_name: "BIGLOBE",
  service_name: "IPv6オプション",
  ttl: 3600,
  order: ["map_e"],
  map_e: {
    version: 0,
    br: "2001:260:700:1::1:275",
    rules: [{ ipv6: "2404:7a82:4c00::/38", ipv4: "133.209.12.0/22", ea_length: 18, psid_offset: 4 }],
  },
};

export const TXT = "v=v6mig-1 url=https://prov.example.jp/config t=b";

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
}

export function ok(body: unknown): HttpAnswer {
  return { kind: "response", status: 200, location: null, body: encode(body) };
}

export function status(code: number, location: string | null = null): HttpAnswer {
  return { kind: "response", status: code, location, body: new Uint8Array(0) };
}

/** A scripted HB46PP network: a TXT answer and one HTTP answer per URL path (first match wins). */
export function fakeHb46pp(
  txt: TxtLookup,
  routes: Readonly<Record<string, HttpAnswer>>,
): Hb46ppIo & { requests: { url: string; verify: boolean; publicOnly: boolean }[] } {
  const requests: { url: string; verify: boolean; publicOnly: boolean }[] = [];
  return {
    requests,
    resolvers: ["2001:db8:53::53"],
    resolveTxt: () => Promise.resolve(txt),
    get: (url, verify, _servers, options) => {
      requests.push({ url, verify, publicOnly: options?.publicOnly === true });
      const path = new URL(url).pathname;
      return Promise.resolve(routes[path] ?? status(404));
    },
  };
}

export function txt(text: string): TxtLookup {
  return { kind: "records", records: [[text]] };
}

/** The DecodeError `fn` throws; fails the test when it throws anything else or nothing. */
export function decodeErrorOf(fn: () => unknown): DecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DecodeError, `expected a DecodeError, got ${String(caught)}`);
  return caught;
}
