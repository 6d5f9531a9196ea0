/**
 * The inspector's stylesheet. It lives in the inspector's shadow root, so nothing here
 * reaches the host page and the page's styles do not reach in (`:host { all: initial }`
 * also stops inherited fonts and colours). Light and dark follow the system setting.
 */
export const INSPECTOR_CSS = `
:host {
  all: initial;
  display: block;
  contain: content;
  --bg: #ffffff; --bg2: #f5f6f8; --bg3: #e9ecf1; --fg: #1d232b; --muted: #66707c;
  --line: #d9dde3; --accent: #2b62d9; --accent-fg: #ffffff; --ok: #1f8a4c; --warn: #b76e00;
  --bad: #c42b2b; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg);
}
@media (prefers-color-scheme: dark) {
  :host {
    --bg: #16191e; --bg2: #1e2228; --bg3: #2a2f37; --fg: #e3e6ea; --muted: #98a1ad;
    --line: #343a43; --accent: #6d9cff; --accent-fg: #0d1016; --ok: #4cc27e; --warn: #e0a040; --bad: #ff6b6b;
  }
}
* { box-sizing: border-box; }
.inspector { display: flex; flex-direction: column; height: 100%; min-height: 320px; background: var(--bg);
  border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
header.bar { display: flex; align-items: center; gap: 8px; padding: 6px 10px; background: var(--bg2);
  border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header.bar .title { font-weight: 600; }
nav.tabs { display: flex; gap: 2px; padding: 4px 6px 0; background: var(--bg2); border-bottom: 1px solid var(--line);
  overflow-x: auto; }
nav.tabs button { border: 1px solid transparent; border-bottom: none; border-radius: 6px 6px 0 0; background: none;
  padding: 5px 10px; color: var(--muted); }
nav.tabs button[aria-selected="true"] { background: var(--bg); color: var(--fg); border-color: var(--line);
  margin-bottom: -1px; }
main.view { flex: 1; overflow: auto; padding: 10px; }
section + section { margin-top: 14px; }
h3 { font-size: 13px; margin: 0 0 6px; }
p { margin: 4px 0; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 11px; background: var(--bg3);
  color: var(--fg); white-space: nowrap; }
.badge.leader, .badge.ready, .badge.running { background: color-mix(in srgb, var(--ok) 20%, transparent); color: var(--ok); }
.badge.follower, .badge.waiting, .badge.building { background: color-mix(in srgb, var(--warn) 20%, transparent); color: var(--warn); }
.badge.failed, .badge.stopped { background: color-mix(in srgb, var(--bad) 18%, transparent); color: var(--bad); }
button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 5px;
  padding: 3px 9px; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.link { border: none; background: none; padding: 0; color: var(--accent); cursor: pointer; font: inherit; text-align: left; }
button.link:hover { text-decoration: underline; }
input, select { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 5px;
  padding: 3px 6px; min-width: 0; }
label { display: inline-flex; align-items: center; gap: 4px; }
form.filters { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }
form.filters input { width: 120px; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.spacer { flex: 1; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { position: sticky; top: 0; background: var(--bg2); font-weight: 600; z-index: 1; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono, .mono { font-family: var(--mono); font-size: 11.5px; }
td.data { font-family: var(--mono); font-size: 11.5px; color: var(--muted); max-width: 360px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
tr.selectable { cursor: pointer; }
tr.selectable:hover td { background: var(--bg2); }
tr.selected td { background: color-mix(in srgb, var(--accent) 14%, transparent); }
tr.group td { background: var(--bg3); font-weight: 600; }
.split { display: grid; grid-template-columns: minmax(0, 1fr); gap: 10px; }
@container (min-width: 900px) { .split.with-detail { grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr); } }
.inspector { container-type: inline-size; }
.detail { border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: var(--bg2); min-width: 0; }
.detail dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 10px; margin: 0 0 8px; }
.detail dt { color: var(--muted); }
.detail dd { margin: 0; overflow-wrap: anywhere; }
pre { margin: 0; font-family: var(--mono); font-size: 11.5px; white-space: pre-wrap; overflow-wrap: anywhere;
  background: var(--bg); border: 1px solid var(--line); border-radius: 5px; padding: 6px; max-height: 320px; overflow: auto; }
.error { color: var(--bad); background: color-mix(in srgb, var(--bad) 10%, transparent); border: 1px solid
  color-mix(in srgb, var(--bad) 35%, transparent); border-radius: 5px; padding: 6px 8px; margin: 6px 0; overflow-wrap: anywhere; }
.error .code { font-weight: 700; font-family: var(--mono); }
.note { border: 1px dashed var(--line); border-radius: 6px; padding: 8px; color: var(--muted); background: var(--bg2); }
.pager { display: flex; gap: 6px; align-items: center; margin: 8px 0; }
.bar-track { height: 8px; background: var(--bg3); border-radius: 4px; overflow: hidden; min-width: 120px; }
.bar-fill { height: 100%; background: var(--accent); transition: width .2s; }
.bar-fill.ready { background: var(--ok); }
.bar-fill.failed { background: var(--bad); }
.editor { border: 1px solid var(--line); border-radius: 6px; overflow: hidden; min-height: 90px; background: var(--bg); }
.editor .cm-editor { max-height: 240px; }
.editor .cm-editor.cm-focused { outline: none; }
.editor .cm-scroller { font-family: var(--mono); font-size: 12.5px; }
.results { max-height: 420px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; margin-top: 8px; }
.history { max-height: 160px; overflow: auto; margin: 0; padding: 0; list-style: none; }
.history li button { font-family: var(--mono); font-size: 11.5px; width: 100%; text-align: left; border: none;
  border-bottom: 1px solid var(--line); border-radius: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stats { display: flex; gap: 18px; flex-wrap: wrap; margin-bottom: 8px; }
.stat b { display: block; font-size: 18px; font-variant-numeric: tabular-nums; }
.chart { min-height: 240px; }
/* The chart's own elements (uPlot): only what its layout needs. */
.chart .uplot { position: relative; font-family: inherit; }
.chart .u-wrap { position: relative; user-select: none; }
.chart .u-over, .chart .u-under { position: absolute; }
.chart .u-under { overflow: hidden; }
.chart .uplot canvas { display: block; position: relative; width: 100%; height: 100%; }
.chart .u-axis { position: absolute; }
.chart .u-select { position: absolute; background: color-mix(in srgb, var(--accent) 12%, transparent); pointer-events: none; }
.chart .u-cursor-x, .chart .u-cursor-y { position: absolute; left: 0; top: 0; pointer-events: none; will-change: transform; }
.chart .u-cursor-x { height: 100%; border-right: 1px dashed var(--muted); }
.chart .u-cursor-y { width: 100%; border-bottom: 1px dashed var(--muted); }
.chart .u-cursor-pt { position: absolute; top: 0; left: 0; border-radius: 50%; border: 0 solid; pointer-events: none;
  will-change: transform; background-clip: padding-box !important; }
.chart .u-off { opacity: .3; }
.chart .u-legend { font-size: 12px; margin: 4px auto 0; text-align: center; }
.chart .u-legend .u-marker { width: 1em; height: 1em; margin-right: 4px; display: inline-block; vertical-align: middle;
  background-clip: padding-box !important; border: 2px solid transparent; }
.chart .u-inline tr { display: inline-block; margin: 0 8px; }
.chart .u-inline th, .chart .u-inline td { display: inline; border: none; padding: 0 2px; background: none; position: static; }
.chart .u-legend .u-series > * { padding: 0 2px; }
`;
