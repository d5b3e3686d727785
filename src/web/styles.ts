/** The one stylesheet of both pages, inlined and allowed by its hash in the Content-Security-Policy. */
export const STYLES = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #ffffff; --text: #1b1f24; --muted: #5d6670; --line: #d9dde3;
  --accent: #1f6feb; --ok: #1a7f37; --warn: #9a6700; --fail: #c6292c;
  --map-bg: #e3e6ea; --map-band: #c3c8cf; --idle: #1f9e89; --busy: #e3a21a; --full: #c6292c;
  --code-bg: #eef1f4;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --card: #1a1f25; --text: #e6e9ed; --muted: #9aa4ae; --line: #2e353d;
    --accent: #58a6ff; --ok: #3fb950; --warn: #d29922; --fail: #f85149;
    --map-bg: #262c33; --map-band: #3a424b; --code-bg: #232a31;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK JP", sans-serif;
}
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono", monospace; font-size: 0.92em; }
code { background: var(--code-bg); padding: 0 0.25em; border-radius: 3px; overflow-wrap: anywhere; }
a { color: var(--accent); }
header {
  display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1.5rem;
  padding: 0.8rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line);
}
header h1 { font-size: 1.15rem; margin: 0; letter-spacing: 0.02em; }
nav { display: flex; gap: 1rem; }
nav a { text-decoration: none; color: var(--muted); padding-bottom: 2px; }
nav a[aria-current="page"] { color: var(--text); border-bottom: 2px solid var(--accent); }
.live { margin: 0 0 0 auto; font-size: 0.85rem; color: var(--muted); }
.live.ok::before { content: "● "; color: var(--ok); }
.live.lost { color: var(--fail); }
.live.lost::before { content: "● "; }
main {
  display: grid; gap: 1rem; padding: 1rem 1.5rem 2rem; max-width: 82rem; margin: 0 auto;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); align-items: start;
}
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.9rem 1.1rem; min-width: 0; }
.card h2 { font-size: 1rem; margin: 0 0 0.6rem; }
.card h3 { font-size: 0.9rem; margin: 0.9rem 0 0.3rem; color: var(--muted); font-weight: 600; }
.summary { grid-column: 1 / -1; display: flex; flex-wrap: wrap; align-items: center; gap: 0.6rem 2rem; }
.headline { display: flex; flex-direction: column; }
.ipv4 { font-size: 1.9rem; font-weight: 650; font-variant-numeric: tabular-nums; letter-spacing: 0.01em; }
.sub { color: var(--muted); }
.usage { display: flex; align-items: center; gap: 0.7rem; margin: 0; }
meter { width: 12rem; height: 1rem; }
.badges { display: flex; flex-wrap: wrap; gap: 0.4rem; margin: 0; }
.badge { border-radius: 999px; padding: 0.1rem 0.65rem; font-size: 0.85rem; border: 1px solid currentColor; white-space: nowrap; }
.badge.ok, .ok { color: var(--ok); }
.badge.warn, .warn-text { color: var(--warn); }
.badge.fail, .fail-text { color: var(--fail); }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
.field { display: contents; }
.field dt { color: var(--muted); }
.field dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.hint { color: var(--muted); font-size: 0.88rem; margin: 0 0 0.5rem; }
figure.map { margin: 0.4rem 0; }
svg.port-map { display: block; width: 570px; max-width: 100%; height: auto; }
#port-map { grid-row: span 2; }
.map-bg { fill: var(--map-bg); }
.map-band { stroke: var(--map-band); stroke-width: 0.35; fill: none; }
.map-label { fill: var(--muted); font: 6px ui-monospace, "DejaVu Sans Mono", monospace; }
.block rect { stroke-width: 0.6; }
.block:hover rect { stroke: var(--text); stroke-width: 1; }
.legend { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; list-style: none; padding: 0; margin: 0.4rem 0 0; font-size: 0.85rem; color: var(--muted); }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px; vertical-align: -0.1em; margin-right: 0.35em; }
.swatch-other { background: var(--map-bg); border: 1px solid var(--map-band); }
.swatch-idle { background: var(--idle); }
.swatch-busy { background: var(--busy); }
.swatch-full { background: var(--full); }
ol.blocks {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: 0.2rem 0.8rem;
  list-style: none; padding: 0; margin: 0.6rem 0 0; font-variant-numeric: tabular-nums; font-size: 0.88rem;
}
ol.blocks li { display: flex; justify-content: space-between; gap: 0.4rem; border-bottom: 1px dotted var(--line); }
ol.blocks .use { color: var(--muted); }
ol.blocks .use.busy { color: var(--warn); font-weight: 600; }
.drift ul, .warnings { margin: 0.3rem 0 0; padding-left: 1.2rem; }
.warnings { color: var(--warn); }
ol.top { list-style: none; padding: 0; margin: 0; }
ol.top li { display: flex; justify-content: space-between; gap: 1rem; padding: 0.1rem 0; }
ol.top .n { font-variant-numeric: tabular-nums; }
ul.findings { list-style: none; padding: 0; margin: 0; }
.finding { display: grid; grid-template-columns: 1.2rem max-content 1fr; gap: 0.1rem 0.5rem; padding: 0.4rem 0; border-bottom: 1px solid var(--line); }
.finding .mark { font-weight: 700; }
.finding.fail .mark { color: var(--fail); }
.finding.warn .mark { color: var(--warn); }
.finding .id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.85rem; color: var(--muted); }
.finding pre.fix { grid-column: 2 / -1; margin: 0.2rem 0 0; }
pre { background: var(--code-bg); padding: 0.5rem 0.7rem; border-radius: 4px; overflow-x: auto; white-space: pre; }
.passed { color: var(--muted); font-size: 0.88rem; overflow-wrap: anywhere; }
ol.events { list-style: none; padding: 0; margin: 0; font-size: 0.9rem; }
.event { display: grid; grid-template-columns: max-content 4.5rem 1fr; gap: 0.6rem; padding: 0.15rem 0; }
.event time { color: var(--muted); font-variant-numeric: tabular-nums; }
.event.warning .level { color: var(--warn); }
.event.error .level { color: var(--fail); }
form.calc { grid-column: 1 / -1; }
.calc-row { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: end; }
label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.88rem; color: var(--muted); }
input, select, button {
  font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line);
  border-radius: 5px; padding: 0.35rem 0.55rem;
}
input[type="text"] { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
#prefix { width: min(100%, 26rem); font-size: 1.05rem; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
details.manual { margin-top: 0.8rem; }
details.manual summary { cursor: pointer; color: var(--muted); }
.rule-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.5rem 1rem; margin-top: 0.6rem; }
label.check { flex-direction: row; align-items: center; gap: 0.4rem; grid-column: 1 / -1; color: var(--text); }
.error { color: var(--fail); margin: 0.7rem 0 0; }
#result { grid-column: 1 / -1; }
#result h2 { font-size: 1.1rem; }
.result-grid { display: grid; gap: 0.5rem 2rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); align-items: start; }
details.json summary { cursor: pointer; color: var(--muted); margin-top: 0.8rem; }
details.json pre { max-height: 24rem; }
`;
