/// The dashboard (`spec/0008-control-api.md` §6): one HTML page, its CSS and script inline, no
/// build step and nothing fetched from elsewhere. It speaks only the control API, with the token
/// it was opened with, and follows the node through `/v1/events`.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Potluck</title>
<link rel="icon" href="data:,">
<style>
:root { --ink: #1d2428; --soft: #5b6770; --line: #dde3e7; --bg: #f6f8f9; --card: #fff; --accent: #2f7d5b; --warn: #b5462b; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1.2em; padding: .9em 1.5em; background: var(--card); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { margin: 0; font-size: 1.25em; color: var(--accent); }
header .who { color: var(--soft); font-family: "DejaVu Sans Mono", monospace; font-size: .85em; }
nav { display: flex; gap: .3em; padding: .5em 1.5em 0; flex-wrap: wrap; }
nav a { padding: .45em .9em; border-radius: 6px 6px 0 0; color: var(--soft); text-decoration: none; border: 1px solid transparent; border-bottom: none; }
nav a.active { background: var(--card); color: var(--ink); border-color: var(--line); }
main { margin: 0 1.5em 1.5em; padding: 1.2em 1.4em; background: var(--card); border: 1px solid var(--line); border-radius: 0 8px 8px 8px; min-height: 60vh; }
section { display: none; } section.active { display: block; }
h2 { margin: 0 0 .6em; font-size: 1.1em; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(13em, 1fr)); gap: .8em; margin-bottom: 1.2em; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: .7em .9em; }
.tile .label { color: var(--soft); font-size: .8em; text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 1.35em; margin-top: .15em; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-size: .92em; }
th, td { text-align: left; padding: .4em .5em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--soft); font-weight: 600; font-size: .85em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: .85em; }
.empty { color: var(--soft); font-style: italic; padding: .6em 0; }
.switch { display: inline-flex; align-items: center; gap: .8em; padding: .8em 1em; border: 1px solid var(--line); border-radius: 8px; margin-bottom: 1em; }
button { font: inherit; padding: .45em 1.1em; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.paused { background: var(--warn); border-color: var(--warn); }
form.edit { display: flex; flex-wrap: wrap; gap: .8em 1.2em; align-items: end; }
form.edit label { display: flex; flex-direction: column; gap: .25em; color: var(--soft); font-size: .85em; }
form.edit label.check { flex-direction: row; align-items: center; color: var(--ink); font-size: .95em; }
form.edit input[type=number], form.edit input[type=text] { font: inherit; padding: .35em .5em; border: 1px solid var(--line); border-radius: 6px; width: 9em; }
form.edit input[name=windows] { width: 16em; }
.result { color: var(--soft); } .result.bad { color: var(--warn); }
#errors { display: none; margin: 0 1.5em; padding: .6em 1em; background: #fdecea; color: var(--warn); border: 1px solid #f3c2b8; border-radius: 6px; }
.dot { display: inline-block; width: .6em; height: .6em; border-radius: 50%; background: var(--soft); margin-right: .4em; }
.dot.on { background: var(--accent); } .dot.off { background: var(--warn); }
</style>
</head>
<body>
<header><h1>Potluck</h1><span class="who" id="who">connecting…</span><span id="reach"></span></header>
<div id="errors"></div>
<nav>
  <a href="#machine">This machine</a><a href="#lending">What I lend</a><a href="#ran">What ran here</a>
  <a href="#borrowed">What I borrowed</a><a href="#trust">Receipts and trust</a>
</nav>
<main>
<section id="machine">
  <h2>This machine</h2>
  <div class="grid">
    <div class="tile"><div class="label">Peers in the routing table</div><div class="value" id="m-table">–</div></div>
    <div class="tile"><div class="label">Reachability</div><div class="value" id="m-reach">–</div></div>
    <div class="tile"><div class="label">Listening on</div><div class="value mono" id="m-listen">–</div></div>
    <div class="tile"><div class="label">Jobs running now</div><div class="value" id="m-running">–</div></div>
    <div class="tile"><div class="label">DHT queries answered</div><div class="value" id="m-queries">–</div></div>
    <div class="tile"><div class="label">Datagrams dropped</div><div class="value" id="m-dropped">–</div></div>
  </div>
  <h2>Running now</h2>
  <div id="m-jobs"></div>
</section>
<section id="lending">
  <h2>What I lend</h2>
  <div class="switch"><span id="l-state"><span class="dot"></span>…</span><button id="pause" type="button">Pause lending</button></div>
  <div class="grid" id="l-policy"></div>
  <p class="empty" id="l-none" hidden>No offer recorded yet: set one below, or with <span class="mono">potluck offer set</span>.</p>
  <h2>Change what I lend</h2>
  <form id="policy" class="edit">
    <label>Cores <input name="cores" type="number" min="1" step="1" required></label>
    <label>Memory <input name="memory" type="text" placeholder="2GiB" required></label>
    <label>Jobs at once <input name="max_jobs" type="number" min="1" step="1" required></label>
    <label>Hours <input name="windows" type="text" placeholder="22:00-07:00, or empty for any time"></label>
    <label class="check"><input name="idle_only" type="checkbox"> only while the machine is idle</label>
    <button type="submit">Save and publish</button>
    <span id="policy-result" class="result"></span>
  </form>
</section>
<section id="ran">
  <h2>What ran here</h2>
  <div id="r-jobs"></div>
</section>
<section id="borrowed">
  <h2>What I borrowed</h2>
  <div id="b-jobs"></div>
</section>
<section id="trust">
  <h2>Receipts and trust</h2>
  <div class="grid">
    <div class="tile"><div class="label">Receipts held</div><div class="value" id="t-receipts">–</div></div>
    <div class="tile"><div class="label">Compute given</div><div class="value" id="t-given">–</div></div>
    <div class="tile"><div class="label">Compute received</div><div class="value" id="t-received">–</div></div>
  </div>
  <div id="t-peers"></div>
</section>
</main>
<script>
"use strict";
const query = new URLSearchParams(location.search);
const token = query.get("token") || sessionStorage.getItem("potluck-token") || "";
if (query.get("token")) { sessionStorage.setItem("potluck-token", token); history.replaceState(null, "", location.pathname + location.hash); }
const $ = (id) => document.getElementById(id);
const short = (peer) => peer ? peer.slice(0, 14) + "…" : "?";
const seconds = (s) => s < 90 ? s.toFixed(1) + " core-s" : (s / 3600).toFixed(2) + " core-h";
const when = (ms) => new Date(ms).toLocaleString();
const score = (x) => (Math.abs(x) < 0.0005 ? 0 : x).toFixed(3);
const text = (value) => String(value).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const failures = [];
function fail(message) {
  failures.push(message);
  document.body.dataset.errors = failures.join(" | ");
  $("errors").style.display = "block";
  $("errors").textContent = failures.slice(-3).join(" · ");
}
window.addEventListener("error", (e) => fail(e.message));
window.addEventListener("unhandledrejection", (e) => fail(String(e.reason && e.reason.message || e.reason)));

async function api(method, path, body) {
  const answer = await fetch(path, { method, headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
                                     body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await answer.json();
  if (!answer.ok) throw new Error(json.error || ("HTTP " + answer.status));
  return json;
}

function table(rows, columns, empty) {
  if (!rows.length) return '<p class="empty">' + text(empty) + "</p>";
  return "<table><tr>" + columns.map((c) => '<th>' + text(c[0]) + "</th>").join("") + "</tr>" +
    rows.map((row) => "<tr>" + columns.map((c) => '<td class="' + (c[2] || "") + '">' + text(c[1](row)) + "</td>").join("") + "</tr>").join("") + "</table>";
}

function showSnapshot(s) {
  $("who").textContent = "peer " + s.node.peer_id;
  const reach = s.node.reachability ? s.node.reachability.summary : "reachability not known yet";
  $("reach").textContent = reach;
  $("m-table").textContent = s.dht.routing_table_size;
  $("m-reach").textContent = reach;
  $("m-listen").textContent = s.node.listen.join(", ");
  $("m-running").textContent = s.running.running.length;
  $("m-queries").textContent = Object.values(s.dht.queries_received).reduce((a, b) => a + b, 0);
  $("m-dropped").textContent = Object.values(s.dht.dropped).reduce((a, b) => a + b, 0);
  $("m-jobs").innerHTML = table(s.running.running, [["Borrower", (j) => short(j.borrower), "mono"], ["Job", (j) => j.job.slice(0, 16), "mono"],
    ["Cores", (j) => j.cores, "num"], ["Since", (j) => when(j.started * 1000)]], "Nothing runs on this machine now.");
  showLending(s.lending);
}

function showLending(l) {
  $("l-state").innerHTML = l.paused ? '<span class="dot off"></span>Lending is paused: no offer is published, new jobs are refused and running ones wait.'
    : '<span class="dot on"></span>' + (l.published ? "Lending: the offer is on the DHT." : "Lending: the offer will be published once the node has peers.");
  $("pause").textContent = l.paused ? "Resume lending" : "Pause lending";
  $("pause").className = l.paused ? "paused" : "";
  $("pause").dataset.paused = l.paused;
  $("l-none").hidden = !!l.policy;
  const p = l.policy;
  const form = $("policy");
  if (p && !form.dataset.touched) {
    form.cores.value = p.cores; form.memory.value = p.memory; form.max_jobs.value = p.max_jobs;
    form.windows.value = p.windows.join(", "); form.idle_only.checked = p.idle_only;
  }
  $("l-policy").innerHTML = !p ? "" : [["Cores", p.cores], ["Memory", p.memory], ["Runtimes", p.runtimes.join(", ")], ["Tools", p.tools.join(", ") || "none"],
    ["Hours", p.windows.join(", ") || "any time"], ["Only when idle", p.idle_only ? "yes" : "no"], ["Jobs at once", p.max_jobs],
    ["Friends / denied", p.friends + " / " + p.denied]].map((t) => '<div class="tile"><div class="label">' + text(t[0]) + '</div><div class="value">' + text(t[1]) + "</div></div>").join("");
}

async function loadHistory() {
  const history = await api("GET", "/v1/jobs/history");
  const columns = [["Peer", (j) => short(j.peer), "mono"], ["Ended", (j) => when(j.end)], ["Took", (j) => ((j.end - j.start) / 1000).toFixed(1) + " s", "num"],
    ["Cores", (j) => j.cores, "num"], ["Result", (j) => j.outcome], ["CPU", (j) => seconds(j.core_seconds), "num"], ["Receipt", (j) => j.receipt ? "signed" : "none"]];
  $("r-jobs").innerHTML = table(history.jobs.filter((j) => j.role === "lent"), columns, "No job has run on this machine yet.");
  $("b-jobs").innerHTML = table(history.jobs.filter((j) => j.role === "borrowed"), columns, "This node has borrowed nothing yet (jobs run by 'potluck run' are listed here).");
}

async function loadTrust() {
  const trust = await api("GET", "/v1/trust");
  $("t-receipts").textContent = trust.receipts_known;
  $("t-given").textContent = seconds(trust.peers.reduce((a, p) => a + p.i_gave, 0));
  $("t-received").textContent = seconds(trust.peers.reduce((a, p) => a + p.gave_me, 0));
  $("t-peers").innerHTML = table(trust.peers, [["Peer", (p) => short(p.peer), "mono"], ["Trust I give", (p) => score(p.trust_given), "num"],
    ["Trust I am given", (p) => score(p.trust_received), "num"], ["Why", (p) => p.why]], "No receipts yet: trust grows from signed receipts of work done.");
}

function route() {
  const name = (location.hash || "#machine").slice(1);
  for (const section of document.querySelectorAll("section")) section.classList.toggle("active", section.id === name);
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.getAttribute("href") === "#" + name);
}
window.addEventListener("hashchange", route);

$("pause").addEventListener("click", async () => {
  $("pause").disabled = true;
  try { showLending(await api("PUT", "/v1/lending/paused", { paused: $("pause").dataset.paused !== "true" })); }
  catch (error) { fail(error.message); }
  finally { $("pause").disabled = false; }
});

$("policy").addEventListener("input", () => { $("policy").dataset.touched = "true"; });
$("policy").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("policy");
  const result = $("policy-result");
  const update = { cores: Number(form.cores.value), memory: form.memory.value.trim(), max_jobs: Number(form.max_jobs.value),
                   idle_only: form.idle_only.checked, windows: form.windows.value.split(",").map((w) => w.trim()).filter((w) => w) };
  try {
    showLending(await api("PUT", "/v1/lending/policy", update));
    delete form.dataset.touched;
    result.className = "result"; result.textContent = "Saved.";
  } catch (error) {
    result.className = "result bad"; result.textContent = error.message;
  }
});

async function start() {
  route();
  if (!token) { fail("no token: open the dashboard with 'potluck dashboard'"); return; }
  const [node, dht, running, lending] = await Promise.all([api("GET", "/v1/node"), api("GET", "/v1/dht"), api("GET", "/v1/jobs/running"), api("GET", "/v1/lending")]);
  showSnapshot({ node, dht, running, lending });
  await Promise.all([loadHistory(), loadTrust()]);
  document.body.dataset.loaded = "true";
  const events = new EventSource("/v1/events?token=" + encodeURIComponent(token));
  events.addEventListener("snapshot", (event) => {
    showSnapshot(JSON.parse(event.data));
    loadHistory().catch((e) => fail(e.message));
    loadTrust().catch((e) => fail(e.message));
  });
}
start().catch((error) => fail(error.message));
</script>
</body>
</html>
"""#
}
