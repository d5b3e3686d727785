/**
 * The two HTML documents, each self-contained (styles and script inline) so a page saved from the
 * browser still works offline, and a policy that allows exactly those inline blocks by hash:
 * nothing else may run, load or be framed.
 */
import { createHash } from "node:crypto";
import { STYLES } from "./styles.ts";

export interface Page {
  readonly html: string;
  /** The Content-Security-Policy header; the document carries the same policy in a meta tag. */
  readonly csp: string;
}

function hashSource(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/**
 * An inline script ends at the first "</script" whatever the JS means, and "<!--" changes how the
 * HTML parser reads it; both are equivalent with a backslash inside JS strings and regexes, the
 * only places a bundle can hold them.
 */
export function inlineSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

function policy(scriptHash: string, styleHash: string, connect: boolean): string[] {
  return [
    "default-src 'none'",
    `script-src ${scriptHash}`,
    `style-src ${styleHash}`,
    `connect-src ${connect ? "'self'" : "'none'"}`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(options: {
  title: string;
  current: "status" | "calc";
  body: string;
  script: string;
  connect: boolean;
}): Page {
  const script = inlineSafe(options.script);
  const rules = policy(hashSource(script), hashSource(STYLES), options.connect);
  const nav = (href: string, key: "status" | "calc", label: string) =>
    `<a href="${href}"${options.current === key ? ' aria-current="page"' : ""}>${label}</a>`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(rules.join("; "))}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)}</title>
<link rel="icon" href="data:,">
<style>${STYLES}</style>
</head>
<body>
<header>
<h1>mapectl</h1>
<nav>${nav("/", "status", "Status")}${nav("/calc", "calc", "Calculator")}</nav>
${options.body}
<script>${script}</script>
</body>
</html>
`;
  // frame-ancestors is honoured only in the header, never in a meta tag
  return { html, csp: [...rules, "frame-ancestors 'none'"].join("; ") };
}

export function statusPage(script: string): Page {
  return page({
    title: "mapectl: MAP-E status",
    current: "status",
    connect: true,
    script,
    body: `<p id="live" class="live">connecting…</p>
</header>
<main id="app" aria-live="polite"><noscript><p>This page needs JavaScript to read the status; <code>mapectl status</code> prints the same.</p></noscript></main>`,
  });
}

function ruleField(id: string, label: string, placeholder: string, numeric: boolean): string {
  const mode = numeric ? ' inputmode="numeric"' : "";
  return `<label for="${id}">${label}<input type="text" id="${id}" placeholder="${placeholder}" autocomplete="off" spellcheck="false"${mode}></label>`;
}

export function calcPage(script: string): Page {
  const ruleFields = [
    ruleField("rule-ipv6-prefix", "ipv6-prefix", "2404:7a82:4c00::/38", false),
    ruleField("rule-ipv4-prefix", "ipv4-prefix", "133.209.12.0/22", false),
    ruleField("rule-ea-bits", "ea-bits", "18", true),
    ruleField("rule-psid-offset", "psid-offset", "4", true),
    ruleField("rule-psid-length", "psid-length (optional)", "8", true),
    ruleField("rule-psid", "psid (optional)", "", true),
    ruleField("rule-br", "br (optional)", "2001:260:700:1::1:275", false),
  ].join("\n");
  return page({
    title: "mapectl: MAP-E calculator",
    current: "calc",
    connect: false,
    script,
    body: `<p class="live">works offline: nothing leaves this page</p>
</header>
<main>
<form id="calc-form" class="card calc" autocomplete="off">
<h2>MAP-E calculator</h2>
<p class="hint">The IPv4 address, PSID, ports, CE and BR of a delegated prefix, computed in this page with the same rules as <code>mapectl calc</code>.</p>
<div class="calc-row">
<label for="prefix">Delegated prefix (or the /64 of a line without prefix delegation)<input type="text" id="prefix" name="prefix" placeholder="2404:7a82:4d02:4100::/56" spellcheck="false" autofocus></label>
<label for="iid">CE interface ID<select id="iid"><option value="">the service's (default)</option><option value="draft-03">draft-03</option><option value="rfc7597">rfc7597</option></select></label>
<label for="br-override">BR instead of the rule's<input type="text" id="br-override" placeholder="optional" spellcheck="false"></label>
<button type="submit">Compute</button>
</div>
<details class="manual" id="manual-rule">
<summary>Manual rule (instead of the shipped table)</summary>
<div class="rule-grid">
<label class="check" for="use-manual"><input type="checkbox" id="use-manual"> use this rule</label>
${ruleFields}
</div>
</details>
<p id="calc-error" class="error" role="alert" hidden></p>
<noscript><p>The calculator runs in JavaScript; <code>mapectl calc PREFIX</code> prints the same.</p></noscript>
</form>
<section id="result" class="card" aria-live="polite" hidden></section>
</main>`,
  });
}
