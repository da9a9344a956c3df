// The inspector's stylesheet and client script, served by the Worker from its own routes: no CDN,
// so it works offline under `wrangler dev`, and the CSP can forbid every inline script and style.

/** Readable at 1280 px and at phone width: one column, wrapping rows, monospace only for hashes and JSON. */
export const STYLE_CSS = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d8dde6; --bg: #f6f7f9; --ok: #17663a; --bad: #b3141b; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .6rem 1rem; background: #1d2330; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; margin-right: auto; }
header.top form { margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .2rem 0 .8rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
section.card > h2:first-child { margin-top: .2rem; }
h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: .6rem 1.5rem; }
dl { margin: 0; } dt { color: var(--muted); font-size: .85rem; } dd { margin: 0 0 .4rem; overflow-wrap: anywhere; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
pre { background: var(--bg); border: 1px solid var(--line); padding: .5rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.status { font-weight: 700; padding: .4rem .6rem; border-radius: 4px; display: inline-block; }
.status.ok { color: var(--ok); background: #e3f4e9; } .status.bad { color: #fff; background: var(--bad); }
.error { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.badge.Flat { color: var(--ok); } .badge.Curved { color: var(--warn); } .badge.Critical { color: var(--bad); }
.badge.origin { color: #3c4a8a; }
ol.log { list-style: none; margin: 0; padding: 0; }
ol.log > li { border-top: 1px solid var(--line); }
ol.log > li.broken { box-shadow: inset 4px 0 var(--bad); background: #fdecec; }
ol.log summary { cursor: pointer; display: grid; grid-template-columns: 4.5rem 14rem 1fr 8rem 12rem; gap: .25rem .75rem; padding: .4rem .25rem; align-items: baseline; }
ol.log summary:hover, ol.log details[open] > summary { background: var(--bg); }
ol.log summary > * { overflow-wrap: anywhere; min-width: 0; }
ol.log summary > .badge { justify-self: start; white-space: normal; max-width: 100%; }
/* A phone gets the same facts as wrapping lines: id and time, then what happened, then hash and origin. */
@media (max-width: 720px) { ol.log summary { display: flex; flex-wrap: wrap; gap: .15rem .75rem; } ol.log summary > span:nth-child(3) { flex-basis: 100%; } }
.scroll > table { min-width: 40rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; overflow-wrap: break-word; }
th { font-size: .85rem; color: var(--muted); }
.scroll { overflow-x: auto; }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: .4rem 0 .8rem; }
label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .2rem; }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid #aab2c0; border-radius: 4px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #2b4fd8; border-color: #2b4fd8; color: #fff; }
header.top button { background: transparent; border-color: #fff; }
.signin { max-width: 24rem; margin: 4rem auto; }
.signin form { display: flex; flex-direction: column; gap: .8rem; }
form.compose { display: grid; gap: .6rem; max-width: 32rem; }
form.compose .inline { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
form.compose.wide { max-width: none; }
nav.pager { display: flex; gap: 1rem; margin-top: .6rem; }
ul.catalog { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .3rem 1rem; }
ul.catalog a { overflow-wrap: anywhere; }
nav.jump, nav.tabs { display: flex; flex-wrap: wrap; gap: .4rem 1rem; margin: 0 0 .8rem; }
nav.tabs a { padding: .15rem .6rem; border: 1px solid var(--line); border-radius: 4px; text-decoration: none; }
nav.tabs a[aria-current=page] { background: #1d2330; color: #fff; border-color: #1d2330; }
caption { text-align: left; padding: .2rem 0; }
td.num, .num { font-variant-numeric: tabular-nums; }
p.live { position: sticky; top: 0; z-index: 1; background: #fff8e1; border: 1px solid #e6c65c; border-radius: 6px; padding: .5rem .8rem; }
ol.log > li.new { box-shadow: inset 4px 0 #2b4fd8; }
.entry { padding: 0 .25rem .6rem; }
textarea { font: .85rem/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; padding: .4rem; border: 1px solid #aab2c0; border-radius: 4px; color: var(--fg); width: 100%; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 300px), 540px)); gap: .8rem 1.5rem; }
code { overflow-wrap: anywhere; }
.pk { font-size: .7rem; font-weight: 600; border: 1px solid currentColor; border-radius: 3px; padding: 0 .2rem; margin-left: .3rem; }
ol.trail { list-style: none; margin: 0; padding: 0; }
ol.trail > li { display: grid; grid-template-columns: 14rem 1fr; gap: .15rem .75rem; padding: .35rem .25rem .35rem .7rem; border-top: 1px solid var(--line); }
ol.trail > li > span { overflow-wrap: anywhere; min-width: 0; }
ol.trail > li[data-event=sent] { box-shadow: inset 3px 0 #2b4fd8; } ol.trail > li[data-event=sealed] { box-shadow: inset 3px 0 var(--ok); }
ol.trail > li[data-event=refused], ol.trail > li[data-event=undeliverable] { box-shadow: inset 3px 0 var(--bad); } ol.trail > li[data-event=waiting] { box-shadow: inset 3px 0 var(--warn); } ol.trail > li[data-event=recorded] { box-shadow: inset 3px 0 var(--muted); }
@media (max-width: 720px) { ol.trail > li { grid-template-columns: 1fr; } }
dl.facts { display: flex; flex-wrap: wrap; gap: .3rem 2rem; margin-bottom: .4rem; }
dl.facts dd { font-weight: 600; }
/* An overview is what a phone opens the page for: there each row of its table is a card of labelled values, nothing to scroll. */
@media (max-width: 720px) {
  .scroll > table[data-overview-table] { min-width: 0; }
  table[data-overview-table] thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table[data-overview-table], table[data-overview-table] tbody, table[data-overview-table] tr, table[data-overview-table] caption { display: block; }
  table[data-overview-table] tr { border-bottom: 1px solid var(--line); padding: .3rem 0; }
  table[data-overview-table] td { display: flex; align-items: baseline; gap: .75rem; border: 0; padding: .1rem .25rem; overflow-wrap: anywhere; }
  table[data-overview-table] td::before { content: attr(data-column); flex: 0 0 6rem; color: var(--muted); font-size: .85rem; }
}
figure.chart { margin: 0; }
figure.chart svg { width: 100%; height: auto; display: block; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; }
figure.chart .axis { stroke: #aab2c0; stroke-width: 1; }
figure.chart .tick { fill: var(--muted); font-size: 17px; }
figure.chart .line { fill: none; stroke-width: 2.5; }
figure.chart figcaption { display: flex; flex-wrap: wrap; gap: .2rem 1rem; font-size: .9rem; margin-top: .3rem; }
.line.l0 { stroke: #2b4fd8; } .line.l1 { stroke: #b35c00; stroke-dasharray: 6 3; } .line.l2 { stroke: #17663a; } .line.l3 { stroke: #8a1c7c; stroke-dasharray: 2 3; }
.key::before { content: ""; display: inline-block; width: 1.2em; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: .3em; }
.key.l0::before { border-color: #2b4fd8; } .key.l1::before { border-color: #b35c00; border-top-style: dashed; } .key.l2::before { border-color: #17663a; } .key.l3::before { border-color: #8a1c7c; border-top-style: dotted; }
`;

/**
 * Progressive enhancement only: every page reads fully without it. Shows times in the reader's
 * own zone and counts down to wake times. On a World page's newest log page it subscribes to
 * the Attractor's hibernatable WebSocket (through the inspector, by the signed-in cookie): at
 * each new head it fetches the new entries, rendered by the server, and puts them on top of the
 * log. Without a WebSocket it asks every few seconds whether the log grew, while visible.
 */
export const CLIENT_JS = `"use strict";
(function () {
  function local(el) {
    var t = Number(el.getAttribute("data-ms"));
    if (t) el.textContent = new Date(t).toLocaleString();
  }
  function countdown(el) {
    var t = Number(el.getAttribute("data-countdown"));
    var s = Math.round((t - Date.now()) / 1000);
    el.textContent = s <= 0 ? "due" : "in " + (s >= 3600 ? Math.floor(s / 3600) + "h " : "") + Math.floor((s % 3600) / 60) + "m " + (s % 60) + "s";
  }
  document.querySelectorAll("time[data-ms]").forEach(local);
  var timers = document.querySelectorAll("[data-countdown]");
  function tick() { timers.forEach(countdown); }
  if (timers.length) { tick(); setInterval(tick, 1000); }
  var live = document.querySelector("[data-live]");
  var log = document.querySelector("[data-log]");
  if (!live || !log) return;
  var head = Number(live.getAttribute("data-head"));
  var wanted = head, added = 0, busy = false, polling = 0;
  function pull() {
    if (busy || wanted <= head) return;
    busy = true;
    fetch(live.getAttribute("data-entries") + "?after=" + head, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        busy = false;
        var items = new DOMParser().parseFromString(html, "text/html").querySelectorAll("li[data-sediment]");
        if (!items.length) return;
        var top = log.firstChild;
        items.forEach(function (li) {
          var id = Number(li.getAttribute("data-sediment"));
          if (id <= head || log.querySelector('[data-sediment="' + id + '"]')) return;
          var node = document.importNode(li, true);
          node.classList.add("new");
          node.querySelectorAll("time[data-ms]").forEach(local);
          log.insertBefore(node, top);
          added++;
        });
        head = Math.max(head, Number(items[0].getAttribute("data-sediment")));
        live.hidden = false;
        live.querySelector("[data-count]").textContent = String(added);
        pull();
      })
      .catch(function () { busy = false; });
  }
  function poll() {
    if (polling) return;
    polling = setInterval(function () {
      if (document.hidden) return;
      fetch(live.getAttribute("data-poll") + "?after=" + head, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body && body.newer > 0) { wanted = head + body.newer; pull(); } })
        .catch(function () {});
    }, 5000);
  }
  if (!window.WebSocket) return poll();
  var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + live.getAttribute("data-live"));
  var ping = 0;
  ws.onopen = function () {
    live.setAttribute("data-live-state", "open");
    // Answered by the runtime itself: it does not wake the Attractor.
    ping = setInterval(function () { ws.send("ping"); }, 30000);
  };
  ws.onmessage = function (e) {
    var msg = null;
    try { msg = JSON.parse(e.data); } catch (_) {}
    if (msg && typeof msg.head === "number") { wanted = Math.max(wanted, msg.head); pull(); }
  };
  ws.onclose = function () {
    clearInterval(ping);
    live.setAttribute("data-live-state", "polling");
    poll();
  };
})();
`;
