// The dashboard's composition: each part is handed what it needs, the page's controls are
// wired to them, and the session decides whether the dashboard or the sign-in form shows.
//
// Data flow: the list and the job page are read from the API a page at a time (views.js,
// job.js); live events (live.js) move and update rows in place, then ask for a re-read
// (updates.js, throttled by refresher.js), so what shows ends up being what the server says.
// The workers and the queues' overview come pushed on the same stream (the server's
// summaries, sent when they change): nothing is re-read on a timer.
import { Actions } from "./actions.js";
import { Api } from "./api.js";
import { renderByName } from "./byname.js";
import { Throughput } from "./chart.js";
import { $, el, setText, show } from "./dom.js";
import { Header } from "./header.js";
import { JobPage } from "./job.js";
import { keyHandler } from "./keys.js";
import { LiveFeed } from "./live.js";
import { linkQueue, queueHash } from "./place.js";
import { Refresher } from "./refresher.js";
import { Router } from "./router.js";
import { Selection } from "./selection.js";
import { Session } from "./session.js";
import { PAGE, createState } from "./state.js";
import { Table } from "./table.js";
import { LiveUpdates } from "./updates.js";
import { ListView } from "./views.js";
import { Vocabulary } from "./vocabulary.js";

const state = createState();
const api = new Api(() => session.showLogin("Your session has ended. Sign in again."));
const chart = new Throughput($("chart"));
const header = new Header({ api, state, chart, onThrottled: () => view.request() });
const actions = new Actions({ api, state, changed: () => { view.request(); header.request(); } });
const buttons = (action, current, key) => actions.buttons(action, current, key);
const jobPage = new JobPage({ api, state, buttons });
const selection = new Selection({ state, actions });
const table = new Table({ state, buttons, selection });
const list = new ListView({ api, state, table, again: () => view.request() });
const view = new Refresher(() => (state.jobId ? jobPage.load() : list.load()), 400);
const router = new Router({ state, table, view, jobPage, selection, showQueue });
const forget = (ids) => {
  list.search.forget(ids);
  selection.forget(ids);
};
const updates = new LiveUpdates({ state, table, view, header, chart, forget });
const session = new Session({ api, started: start, ended: stop });
let feed = null;
let clockTimer = 0;

async function start(reply) {
  state.session = reply;
  state.queue = null;
  api.csrf = reply.csrf;
  state.vocab = new Vocabulary(await api.vocabulary());
  state.canOperate = reply.scope === "operate" && !reply.read_only;
  state.schedules = reply.schedules;
  show("login", false);
  show("app", true);
  setText("server", reply.server);
  show("read-only", !state.canOperate);
  setText("read-only", reply.read_only ? "read-only" : state.canOperate ? "" : "read access");
  show("logout-btn", reply.auth);
  show("pause-btn", state.canOperate);
  document.body.classList.toggle("can-operate", state.canOperate);
  show(document.querySelector('[data-tab="schedules"]'), state.schedules);
  clearInterval(clockTimer);
  clockTimer = setInterval(tick, 1000);
  await listQueues();
  router.route();
}

/** The page shows `name` (a queue of the served one's prefix) from now on: its counts, rows
 * and events. */
function showQueue(name) {
  if (name === state.queue) return;
  state.queue = name;
  api.showQueue(name, state.session.queue);
  linkQueue(name === state.session.queue ? null : name);
  if (![...$("queue-select").options].some((o) => o.value === name)) $("queue-select").append(el("option", { text: name, attrs: { value: name } }));
  $("queue-select").value = name;
  selection.clear();
  list.reset();
  state.workers = null; // the new stream's summary says
  state.rows = [];
  state.total = 0;
  state.page = 0;
  if (feed) feed.stop();
  feed = new LiveFeed({
    url: (after) => api.eventsUrl(after),
    types: state.vocab.eventTypes,
    onBatch: (events, overflowed) => updates.apply(events, overflowed),
    onSummary: summary,
    onState: connection,
    onGone: () => session.stillSignedIn(),
  });
  feed.start();
  chart.reset();
  header.request();
  header.seedChart();
}

/** The queue switcher's choices: the queues of the prefix (GET api/v1/queues). */
async function listQueues() {
  const reply = await api.queues();
  const names = [...new Set([reply.current, ...reply.queues])].sort();
  const select = $("queue-select");
  const chosen = select.value || reply.current;
  select.replaceChildren(...names.map((name) => el("option", { text: name, attrs: { value: name } })));
  select.value = state.queue ?? chosen;
}

function stop() {
  state.session = null;
  if (feed) feed.stop();
  feed = null;
  clearInterval(clockTimer);
}

function connection(value) {
  const was = $("conn").dataset.state;
  $("conn").dataset.state = value;
  setText("conn-text", value);
  if (value === "live") {
    // Whatever happened while we were away: read it again (the chart too, after a gap).
    header.request();
    view.request();
    if (was === "reconnecting" || was === "offline") header.seedChart();
  }
}

/** A summary the server pushed (the workers of the queue shown, or every queue's). */
function summary(kind, data) {
  if (kind === "workers") header.renderWorkers(data.workers);
  else state.overview = data;
  if (!state.jobId && (state.tab === "workers" || (kind === "queues" && state.tab === "queues"))) view.request();
}

function tick() {
  // Relative times (waiting, elapsed, heartbeat age) move with the clock; no re-reads.
  if (!state.jobId && !document.hidden && !$("confirm").open) table.render();
  // The chart's bars move on with the minute (live events fill them).
  if (new Date().getSeconds() === 0 && !document.hidden) chart.draw();
}

function page(step) {
  const next = state.page + step;
  if (next < 0 || next * PAGE >= Math.max(state.total, 1)) return;
  state.page = next;
  view.request();
}

let filterTimer = 0;
function applyFilter(value) {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    if (state.filter !== value.trim()) selection.clear(); // act only on what the search shows
    state.filter = value.trim();
    state.page = 0;
    show("notice", false);
    view.request();
  }, 250);
}

function wire() {
  $("login-form").addEventListener("submit", (e) => session.signIn(e));
  $("logout-btn").addEventListener("click", () => session.signOut());
  $("pause-btn").addEventListener("click", () => actions.togglePause());
  $("retry-all-btn").addEventListener("click", () => actions.retryAll(state.depths.failed ?? 0));
  $("prev-btn").addEventListener("click", () => page(-1));
  $("next-btn").addEventListener("click", () => page(1));
  $("filter").addEventListener("input", (e) => applyFilter(e.target.value));
  $("substatus").addEventListener("change", (e) => {
    state.sub[state.tab] = e.target.value;
    state.page = 0;
    view.request();
  });
  $("thead").addEventListener("click", (e) => {
    const th = e.target.closest("th.sortable");
    if (th) table.sortBy(th.dataset.key);
  });
  $("job-back").addEventListener("click", (e) => {
    e.preventDefault();
    router.leaveJob();
  });
  $("bulk-clear").addEventListener("click", () => selection.clear());
  $("by-name-box").addEventListener("toggle", () => $("by-name-box").open && renderByName(state));
  $("queue-select").addEventListener("change", (e) => {
    const tab = state.tab === "queues" ? "pending" : state.tab;
    location.hash = queueHash(e.target.value, state.session.queue, tab);
  });
  $("queue-select").addEventListener("focus", () => listQueues().catch(() => {}));
  window.addEventListener("hashchange", () => router.route());
  const clearFilter = () => {
    $("filter").value = "";
    applyFilter("");
  };
  window.addEventListener("keydown", keyHandler({ state, clearFilter, page }));
  $("chart-toggle").addEventListener("click", () => {
    const overview = document.querySelector(".overview");
    const open = overview.classList.toggle("with-chart");
    $("chart-toggle").setAttribute("aria-expanded", String(open));
    setText("chart-toggle", open ? "Chart ▴" : "Chart ▾");
    chart.draw();
  });
  for (const button of document.querySelectorAll(".ranges button")) {
    button.addEventListener("click", () => {
      for (const b of document.querySelectorAll(".ranges button")) b.setAttribute("aria-pressed", String(b === button));
      chart.setRange(button.dataset.range);
      header.seedChart();
    });
  }
  window.addEventListener("resize", () => chart.draw());
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => chart.draw());
}

wire();
session.boot();
