// The dashboard: session, routing, tabs, live updates and actions. Rows come a page at a
// time from the server; events move and update rows in place, then the page is refetched
// (throttled) so what is shown always ends up being what the server says.
import { Api } from "./api.js";
import { Throughput } from "./chart.js";
import { askCount, confirmAction } from "./dialogs.js";
import { $, el, setText, show, toast } from "./dom.js";
import { number, oneLine, shortId } from "./format.js";
import { renderJob } from "./job.js";
import { LiveFeed } from "./live.js";
import { Refresher } from "./refresher.js";
import { TAB_ORDER, TABS, sortRows } from "./tables.js";

const PAGE = 50;
const COUNTS = [
  ["pending", "Pending"], ["scheduled", "Scheduled"], ["running", "Running"],
  ["failed", "Dead"], ["completed", "Done"], ["cancelled", "Cancelled"],
];
const SUBSTATUS = { pending: ["pending", "scheduled"], history: ["completed", "cancelled"] };

const state = {
  session: null,
  canOperate: false,
  tab: "pending",
  sub: { pending: "pending", history: "completed" },
  page: 0,
  filter: "",
  sort: { key: null, dir: null },
  rows: [],
  total: 0,
  jobId: null,
  paused: false,
  workers: [],
  schedules: false,
};
const api = new Api(() => signedOut("Your session has ended. Sign in again."));
const chart = new Throughput($("chart"));
let feed = null;
let clockTimer = 0;

const enc = encodeURIComponent;
const statusesOf = (tab) => (SUBSTATUS[tab] ? [state.sub[tab]] : TABS[tab].statuses || []);

// -- session ------------------------------------------------------------------------------
function showLogin(message = "") {
  if (feed) feed.stop();
  feed = null;
  clearInterval(clockTimer);
  show("app", false);
  show("login", true);
  setText("login-error", message);
  $("login-key").focus();
}

function signedOut(message) {
  state.session = null;
  showLogin(message);
}

async function login(event) {
  event.preventDefault();
  const input = $("login-key");
  const key = input.value;
  if (!key) return;
  $("login-submit").disabled = true;
  try {
    const session = await api.request("POST", "api/v1/session", { body: { key }, quiet401: true });
    input.value = "";
    start(session);
  } catch (error) {
    setText("login-error", error.status === 401 ? "That key is not valid here." : error.message);
  } finally {
    $("login-submit").disabled = false;
  }
}

async function logout() {
  try {
    await api.del("api/v1/session");
  } catch {
    /* signed out either way */
  }
  signedOut("Signed out.");
}

function start(session) {
  state.session = session;
  api.csrf = session.csrf || "";
  state.canOperate = session.scope === "operate" && !session.read_only;
  show("login", false);
  show("app", true);
  setText("queue-name", session.queue ? `queue ${session.queue}` : "");
  setText("server", session.server || "");
  show("read-only", !state.canOperate);
  setText("read-only", session.read_only ? "read-only" : state.canOperate ? "" : "read access");
  show("logout-btn", session.auth !== false);
  for (const node of document.querySelectorAll(".op")) node.hidden = !state.canOperate;
  document.body.classList.toggle("can-operate", state.canOperate);
  state.schedules = Boolean(session.schedules);
  show(document.querySelector('[data-tab="schedules"]'), state.schedules);
  feed = new LiveFeed({ url: "api/v1/events", onBatch, onState: connection, onGone: stillSignedIn });
  feed.start();
  clearInterval(clockTimer);
  clockTimer = setInterval(tick, 1000);
  header.request();
  seedChart();
  route();
}

async function stillSignedIn() {
  try {
    await api.get("api/v1/session", null, { quiet401: true });
    return true;
  } catch (error) {
    if (error.status === 401) {
      signedOut("Your session has ended. Sign in again.");
      return false;
    }
    return true;
  }
}

function connection(value) {
  $("conn").dataset.state = value;
  setText("conn-text", value);
  if (value === "live") {
    // Whatever happened while we were away: read it again.
    header.request();
    view.request();
  }
}

// -- header and chart --------------------------------------------------------------------
const header = new Refresher(async () => {
  const [metrics, workers] = await Promise.all([api.get("api/v1/jobs/metrics"), api.get("api/v1/jobs/workers")]);
  renderHeader(metrics, listOf(workers, "workers"));
}, 1000);

function renderHeader(metrics, workers) {
  const depths = metrics.depths || {};
  const counts = $("counts");
  if (!counts.children.length) {
    for (const [status, label] of COUNTS) {
      counts.append(el("div", { className: status }, [el("dt", { text: label }), el("dd", { attrs: { id: `count-${status}` } })]));
    }
  }
  for (const [status] of COUNTS) setText(`count-${status}`, number(depths[status] ?? 0));
  state.paused = Boolean(metrics.paused);
  renderPaused();
  state.workers = workers;
  const slots = workers.reduce((n, w) => n + (w.concurrency || 0), 0);
  const busy = workers.reduce((n, w) => n + (w.running || 0), 0);
  setText("workers-summary", `${workers.length} worker${workers.length === 1 ? "" : "s"} · ${busy}/${slots} slots busy`);
  const rate = Number(metrics.throughput_10s ?? metrics.throughput ?? 0);
  setText("rate", `${rate.toFixed(1)} done/s`);
}

function renderPaused() {
  const pill = $("paused");
  pill.dataset.paused = String(state.paused);
  setText(pill, state.paused ? "paused" : "running");
  setText("pause-btn", state.paused ? "Resume" : "Pause");
}

async function seedChart() {
  try {
    const m = await api.get("api/v1/jobs/metrics", { window: 900 });
    chart.seed(Number(m.timestamp) || Date.now() / 1000, m.completed_per_second || [], m.failed_per_second || []);
  } catch {
    /* the chart fills from live events */
  }
  chart.draw();
}

// -- views ---------------------------------------------------------------------------------
function listOf(reply, key) {
  if (Array.isArray(reply)) return reply;
  return reply?.items ?? reply?.[key] ?? reply?.jobs ?? [];
}

const view = new Refresher(async () => {
  if (state.jobId) {
    await loadJob();
    return;
  }
  const tab = state.tab;
  const offset = state.page * PAGE;
  let rows;
  let total;
  if (tab === "workers") {
    const all = listOf(await api.get("api/v1/jobs/workers"), "workers");
    const f = state.filter.toLowerCase();
    const hits = f ? all.filter((w) => `${w.id} ${w.host}`.toLowerCase().includes(f)) : all;
    rows = hits.slice(offset, offset + PAGE);
    total = hits.length;
  } else if (tab === "schedules") {
    const reply = await api.get("api/v1/schedules", { limit: PAGE, offset });
    rows = listOf(reply, "schedules");
    total = reply?.total ?? rows.length;
  } else {
    const reply = await api.get("api/v1/jobs", { status: statusesOf(tab)[0], name: state.filter, limit: PAGE, offset });
    rows = listOf(reply, "jobs");
    total = reply?.total ?? rows.length;
  }
  if (tab !== state.tab || state.jobId) return; // the operator moved on meanwhile
  state.rows = rows;
  state.total = total;
  renderTable();
  if (state.filter && !rows.length && tab !== "workers" && tab !== "schedules") offerJob(state.filter);
}, 400);

async function offerJob(text) {
  try {
    const job = await api.get(`api/v1/jobs/${enc(text.trim())}`, null, { quiet401: true });
    const notice = $("notice");
    notice.replaceChildren(
      document.createTextNode("No name matches; there is a job with this id: "),
      el("a", { text: `${oneLine(job.name, 60)} (${job.status})`, attrs: { href: `#job/${enc(job.id)}` } }),
    );
    show(notice, true);
  } catch {
    /* no such id either */
  }
}

function renderTable() {
  const spec = TABS[state.tab];
  const thead = $("thead");
  if (thead.dataset.tab !== state.tab || thead.dataset.sort !== `${state.sort.key}:${state.sort.dir}`) {
    thead.dataset.tab = state.tab;
    thead.dataset.sort = `${state.sort.key}:${state.sort.dir}`;
    const cells = spec.columns.map((col) => {
      const th = el("th", { text: col.label, className: [col.sort ? "sortable" : "", col.wide ? "wide" : "", (col.className || "").includes("num") ? "num" : ""].join(" ").trim() });
      if (col.sort) {
        th.dataset.key = col.key;
        th.title = "Sort this page";
        if (state.sort.key === col.key) th.setAttribute("aria-sort", state.sort.dir);
      }
      return th;
    });
    if (state.canOperate && spec.actions.length) cells.push(el("th", { className: "actions" }));
    thead.replaceChildren(...cells);
  }
  const column = spec.columns.find((c) => c.key === state.sort.key);
  const rows = sortRows(state.rows, column, state.sort.dir);
  placeRows(spec, rows);
  show("empty", !rows.length);
  setText("empty", state.filter ? "Nothing matches the filter." : `No ${spec.title.toLowerCase()} ${state.tab === "workers" || state.tab === "schedules" ? "" : "jobs"}`.trim() + ".");
  const first = state.total ? state.page * PAGE + 1 : 0;
  setText("page-info", `${number(first)}–${number(state.page * PAGE + state.rows.length)} of ${number(state.total)}`);
  $("prev-btn").disabled = state.page === 0;
  $("next-btn").disabled = (state.page + 1) * PAGE >= state.total;
  show("retry-all-btn", state.canOperate && state.tab === "dead");
}

/** Rows are kept and updated in place (keyed by id), so a button under the pointer is never
 * swapped for a copy between press and release, and a redraw touches only what changed. */
function placeRows(spec, rows) {
  const tbody = $("tbody");
  const existing = new Map();
  for (const tr of tbody.children) existing.set(tr.dataset.id, tr);
  const wanted = rows.map((row) => {
    const key = String(row.id ?? row.name ?? "");
    let tr = existing.get(key);
    if (!tr || tr.dataset.tab !== state.tab || tr.dataset.operate !== String(state.canOperate)) tr = createRow(spec, key, row);
    updateRow(spec, tr, row);
    return tr;
  });
  wanted.forEach((tr, index) => {
    if (tbody.children[index] !== tr) tbody.insertBefore(tr, tbody.children[index] || null);
  });
  while (tbody.children.length > wanted.length) tbody.lastElementChild.remove();
}

function createRow(spec, key, row) {
  const tr = el("tr", { attrs: { "data-id": key, "data-tab": state.tab, "data-operate": String(state.canOperate) } });
  tr.row = row;
  for (const col of spec.columns) tr.append(el("td", { className: [col.className || "", col.wide ? "wide" : ""].join(" ").trim() }));
  if (state.canOperate && spec.actions.length) {
    const td = el("td", { className: "actions" });
    for (const action of spec.actions) td.append(...actionButtons(action, () => tr.row));
    tr.append(td);
  }
  return tr;
}

function updateRow(spec, tr, row) {
  tr.row = row;
  const toggle = tr.querySelector('button[data-action="toggle"]');
  if (toggle) setText(toggle, row.paused ? "Resume" : "Pause");
  spec.columns.forEach((col, index) => {
    const td = tr.children[index];
    const value = col.cell(row);
    if (value instanceof Node) {
      const bar = value.querySelector?.(".bar span");
      const sig = `${value.textContent}|${bar ? bar.style.width : ""}`;
      if (td.dataset.sig !== sig) {
        td.dataset.sig = sig;
        td.replaceChildren(value);
      }
    } else {
      const text = value === undefined || value === null ? "" : String(value);
      if (td.textContent !== text) td.textContent = text;
    }
  });
}

function actionButtons(action, current) {
  const id = oneLine(current().id ?? current().name, 80);
  const button = (text, name, label, handler, className = "") =>
    el("button", { text, className: `op ${className}`.trim(), attrs: { type: "button", "aria-label": label, "data-action": name }, on: { click: () => handler(current()) } });
  if (action === "cancel") return [button("Cancel", "cancel", `Cancel ${id}`, cancelJob, "danger")];
  if (action === "retry") return [button("Retry", "retry", `Retry ${id}`, retryJob)];
  if (action === "scale") {
    return [
      button("−", "scale", `Scale down ${id}`, (w) => scale(w, -1)),
      button("+", "scale", `Scale up ${id}`, (w) => scale(w, 1)),
      button("Set…", "set", `Set slots of ${id}`, setSlots),
    ];
  }
  if (action === "schedule") {
    return [
      button("Run now", "trigger", `Run ${id} now`, triggerSchedule),
      button("Pause", "toggle", `Pause or resume ${id}`, toggleSchedule),
    ];
  }
  return [];
}

// -- live events ---------------------------------------------------------------------------
function onBatch(events, overflowed) {
  let refetch = overflowed;
  let counts = overflowed;
  let redraw = false;
  const current = statusesOf(state.tab);
  const byId = new Map(state.rows.map((row) => [row.id, row]));
  const moved = new Set();
  for (const ev of events) {
    if (ev.type === "JOB_COMPLETED") chart.add(ev.timestamp, "done");
    else if (ev.type === "JOB_FAILED") chart.add(ev.timestamp, "failed");
    if (ev.type === "QUEUE_PAUSED" || ev.type === "QUEUE_RESUMED") {
      state.paused = ev.type === "QUEUE_PAUSED";
      renderPaused();
    }
    if (ev.type !== "JOB_PROGRESS") counts = true;
    if (state.jobId) {
      if (ev.jobId === state.jobId) refetch = true;
      continue;
    }
    if (state.tab === "workers") {
      if (ev.type.startsWith("JOB_SERVICE_WORKERS") || ev.type === "JOB_STARTED" || ev.type === "JOB_COMPLETED") refetch = true;
      continue;
    }
    if (state.tab === "schedules") {
      if (ev.type.startsWith("SCHEDULE_")) refetch = true;
      continue;
    }
    if (ev.type === "JOBS_PURGED") refetch = true;
    if (!ev.jobId) continue;
    const row = byId.get(ev.jobId);
    if (row) {
      if (ev.type === "JOB_PROGRESS") {
        row.progress = { fraction: ev.data.fraction ?? ev.data.progress ?? 0, message: ev.data.message ?? "" };
        redraw = true;
      } else if (ev.status && !current.includes(ev.status)) {
        moved.add(ev.jobId); // it left this tab: take it off now, refill from the server
        byId.delete(ev.jobId);
        refetch = true;
      } else if (ev.status) {
        refetch = true;
      }
    } else if (ev.status && current.includes(ev.status)) {
      moved.delete(ev.jobId);
      refetch = true;
    }
  }
  if (moved.size) {
    state.rows = state.rows.filter((row) => !moved.has(row.id));
    state.total = Math.max(0, state.total - moved.size);
    redraw = true;
  }
  if (redraw && !state.jobId) renderTable();
  if (refetch) view.request();
  if (counts) header.request();
  chart.draw();
}

let ticks = 0;
function tick() {
  // Relative times (waiting, elapsed, heartbeat age) move with the clock.
  if (!state.jobId && !document.hidden && !$("confirm").open) renderTable();
  // Workers change without events (heartbeats): their tab is read again every few seconds.
  if (state.tab === "workers" && !state.jobId && ++ticks % 3 === 0) view.request();
  if (new Date().getSeconds() === 0) chart.draw();
}

// -- job page ------------------------------------------------------------------------------
async function loadJob() {
  const id = state.jobId;
  try {
    const job = await api.get(`api/v1/jobs/${enc(id)}`);
    if (id !== state.jobId) return;
    state.job = job;
    renderJob(job);
    show("job-cancel", state.canOperate && ["pending", "scheduled", "running"].includes(job.status));
    show("job-retry", state.canOperate && job.status === "failed");
  } catch (error) {
    if (error.status === 404) {
      setText("job-name", "No such job");
      setText("job-status", "");
      setText("job-id", id);
      $("job-facts").replaceChildren();
      $("job-timeline").replaceChildren();
      setText("job-args", "It may have been purged, or the id is mistyped.");
    } else {
      toast(error.message);
    }
  }
}

// -- actions -------------------------------------------------------------------------------
async function act(promise, done) {
  try {
    const reply = await promise;
    toast(done(reply));
    view.request();
    header.request();
  } catch (error) {
    toast(error.status === 403 ? "Not allowed with this access." : oneLine(error.message, 300));
  }
}

async function cancelJob(job) {
  const note = job.status === "running" ? "\nIts handler is interrupted." : "";
  if (!(await confirmAction("Cancel job", `Cancel this ${job.status} job?\n\n${oneLine(job.name, 80)}\n${oneLine(job.id)}${note}`))) return;
  await act(api.del(`api/v1/jobs/${enc(job.id)}`), () => `Cancel requested: ${shortId(job.id)}`);
}

async function retryJob(job) {
  await act(api.post(`api/v1/jobs/dead-letters/${enc(job.id)}`), () => `Requeued ${shortId(job.id)} (${oneLine(job.name, 40)})`);
}

async function retryAll() {
  const dead = Number($("count-failed")?.textContent.replace(/\D/g, "") || 0);
  const question = dead === 1 ? "Move the only dead letter back to the pending queue?" : `Move all ${number(dead)} dead letters back to the pending queue?`;
  if (!(await confirmAction("Retry all dead letters", question))) return;
  await act(api.post("api/v1/jobs/dead-letters/retry-all"), (r) => `${number(r?.retried ?? r?.count ?? dead)} dead letters requeued`);
}

async function scale(worker, delta) {
  const wid = oneLine(worker.id, 80);
  const slots = worker.concurrency || 0;
  if (delta < 0 && slots === 0) {
    toast(`${wid} already has 0 slots.`);
    return;
  }
  const goal = Math.max(0, slots + delta);
  if (goal === 0 && !(await confirmAction("Scale to zero", `Scale ${wid} to 0 slots?\nIt takes no new jobs; running ones finish.`))) return;
  await act(api.post("api/v1/jobs/workers/scale", { worker_id: worker.id, delta }), () => `${wid}: ${slots} → ${goal} slots`);
}

async function setSlots(worker) {
  const wid = oneLine(worker.id, 80);
  const slots = worker.concurrency || 0;
  const count = await askCount("Set slots", `Slots for ${wid} (now ${slots}):`, slots);
  if (count === null || count === slots) return;
  if (count === 0 && !(await confirmAction("Scale to zero", `Scale ${wid} to 0 slots?\nIt takes no new jobs; running ones finish.`))) return;
  await act(api.post("api/v1/jobs/workers/scale", { worker_id: worker.id, concurrency: count }), () => `${wid}: ${slots} → ${count} slots`);
}

async function triggerSchedule(schedule) {
  const name = oneLine(schedule.name, 80);
  await act(api.post(`api/v1/schedules/${enc(schedule.name)}/trigger`), (r) => `${name}: queued ${shortId(r?.job_id)}`);
}

async function toggleSchedule(schedule) {
  const name = oneLine(schedule.name, 80);
  const verb = schedule.paused ? "resume" : "pause";
  await act(api.post(`api/v1/schedules/${enc(schedule.name)}/${verb}`), () => `${name}: ${verb === "pause" ? "paused" : "resumed"}`);
}

async function togglePause() {
  const pausing = !state.paused;
  await act(api.post(pausing ? "api/v1/queue/pause" : "api/v1/queue/resume"), () =>
    pausing ? "Queue paused: running jobs go on, no new ones start" : "Queue resumed");
}

// -- routing and keys -----------------------------------------------------------------------
function route() {
  if (!state.session) return;
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith("job/")) {
    state.jobId = hash.slice(4);
    show("main", false);
    show("job", true);
    $("job-args").textContent = "";
    view.request();
    return;
  }
  state.jobId = null;
  show("job", false);
  show("main", true);
  const tab = TABS[hash] && (hash !== "schedules" || state.schedules) ? hash : "pending";
  if (tab !== state.tab) {
    state.tab = tab;
    state.page = 0;
    state.sort = { key: null, dir: null };
    state.rows = [];
    state.total = 0;
  }
  for (const link of document.querySelectorAll(".tabs a")) link.setAttribute("aria-selected", String(link.dataset.tab === tab));
  const sub = $("substatus");
  show(sub, Boolean(SUBSTATUS[tab]));
  if (SUBSTATUS[tab]) {
    sub.replaceChildren(...SUBSTATUS[tab].map((s) => el("option", { text: s, attrs: { value: s } })));
    sub.value = state.sub[tab];
  }
  show("notice", false);
  renderTable();
  view.request();
}

function onKey(event) {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement;
  if ($("confirm").open || $("help").open || !state.session || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") {
    if (target === $("filter")) {
      $("filter").value = "";
      applyFilter("");
      target.blur();
    } else if (state.jobId) {
      history.back();
    }
    return;
  }
  if (typing) return;
  const index = "123456".indexOf(event.key);
  if (index >= 0 && event.key.length === 1) {
    const tab = TAB_ORDER[index];
    if (tab !== "schedules" || state.schedules) location.hash = tab;
  } else if (event.key === "/") {
    event.preventDefault();
    if (state.jobId) location.hash = state.tab;
    $("filter").focus();
  } else if (event.key === "?") {
    $("help").showModal();
  } else if (event.key === "[") {
    page(-1);
  } else if (event.key === "]") {
    page(1);
  } else {
    return;
  }
  event.preventDefault();
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
    state.filter = value.trim();
    state.page = 0;
    show("notice", false);
    view.request();
  }, 250);
}

function wire() {
  $("login-form").addEventListener("submit", login);
  $("logout-btn").addEventListener("click", logout);
  $("pause-btn").addEventListener("click", togglePause);
  $("retry-all-btn").addEventListener("click", retryAll);
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
    if (!th) return;
    const key = th.dataset.key;
    const dir = state.sort.key !== key ? "ascending" : state.sort.dir === "ascending" ? "descending" : null;
    state.sort = { key: dir ? key : null, dir };
    renderTable();
  });
  $("job-back").addEventListener("click", (e) => {
    e.preventDefault();
    location.hash = state.tab;
  });
  $("job-cancel").addEventListener("click", () => state.job && cancelJob(state.job));
  $("job-retry").addEventListener("click", () => state.job && retryJob(state.job));
  window.addEventListener("hashchange", route);
  window.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => chart.draw());
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => chart.draw());
}

async function boot() {
  wire();
  try {
    start(await api.get("api/v1/session", null, { quiet401: true }));
  } catch (error) {
    showLogin(error.status === 401 ? "" : error.message);
  }
}

boot();
