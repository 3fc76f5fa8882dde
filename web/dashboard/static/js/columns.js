// What each tab shows: its columns (label, cell, sort key), the statuses its rows come from
// (from the server's vocabulary), what names a row (`key`), the actions on a row, and those
// on the rows selected (`bulk`: job tabs have a checkbox per row).
import { el } from "./dom.js";
import { age, duration, number, oneLine, priorityLabel, shortId } from "./format.js";
import { jobHash, queueHash } from "./place.js";

export function jobLink(id) {
  return el("a", { text: shortId(id), title: String(id), attrs: { href: jobHash(id) } });
}

const BLOCKED_RECENTLY = 600; // s: a blocked loop is flagged this long after it ran again

/** Its handlers' names (the record lists at most 100 of them), then how many in all. */
function handlersCell(w) {
  const shown = w.handlers.slice(0, 3).join(", ");
  const more = w.handler_count - Math.min(3, w.handlers.length);
  return el("span", { text: oneLine(more > 0 ? `${shown} +${more}` : shown || "none", 120), title: w.handlers.join("\n") });
}

/** A handler blocked its event loop lately (no heartbeats went out meanwhile): flagged. */
function loopCell(w) {
  const blocked = w.loop_blocked;
  if (!blocked || Date.now() / 1000 - blocked.at > BLOCKED_RECENTLY) return el("span", { text: "ok", className: "muted" });
  const by = blocked.job_name ? ` by ${oneLine(blocked.job_name, 40)}` : "";
  return el("span", { text: `blocked ${duration(blocked.seconds)}${by}, ${age(blocked.at)} ago`, className: "warn" });
}

/** Pending jobs set aside (counted in Pending): held by a limit, or no live worker runs them. */
function heldCell(q) {
  const parts = [[q.throttled, "throttled"], [q.unserved, "unserved"]].filter(([n]) => n);
  if (!parts.length) return el("span", { text: "–", className: "muted" });
  return el("span", { text: parts.map(([n, word]) => `${number(n)} ${word}`).join(" · "), className: "warn" });
}

const sum = (depths, statuses) => statuses.reduce((n, s) => n + (depths[s] ?? 0), 0);
const rate = (perSecond) => (perSecond ? `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)}/s` : "–");

function progressCell(job) {
  const fraction = Math.max(0, Math.min(1, Number(job.progress.fraction) || 0));
  const fill = el("span");
  fill.style.width = `${(fraction * 100).toFixed(1)}%`;
  return el("span", {}, [
    el("span", { className: "bar", attrs: { role: "progressbar", "aria-valuenow": Math.round(fraction * 100) } }, [fill]),
    document.createTextNode(` ${Math.round(fraction * 100)}%`),
  ]);
}

// A list sends previews: a value over 8 KiB is left on the server (`omitted`: its size).
const leftOut = (job, field) => {
  const size = job.omitted?.[field];
  return size === undefined ? null : `(${number(Math.ceil(size / 1024))} KB: open the job)`;
};
const errorText = (job) =>
  leftOut(job, "error") ?? (job.error ? oneLine(`${job.error.type}: ${job.error.message}`) : "");
const resultText = (job) =>
  leftOut(job, "result") ?? oneLine(job.status === "completed" ? JSON.stringify(job.result) : job.status, 80);
const since = (ts) => (ts ? Date.now() / 1000 - ts : null);

const id = { key: "id", label: "Id", cell: (j) => jobLink(j.id), className: "id", sort: (j) => j.id };
const name = { key: "name", label: "Name", cell: (j) => oneLine(j.name, 80), sort: (j) => j.name };
/** A pending job's name, marked when a limit holds it (throttled: the limit in the title). */
const waitingName = {
  ...name,
  cell: (j) => (j.throttled
    ? el("span", {}, [document.createTextNode(`${oneLine(j.name, 80)} `), el("span", { text: "throttled", className: "warn small", title: `held by the limit ${j.throttled} (key ${j.limit})` })])
    : oneLine(j.name, 80)),
};

/** A limit's running jobs against its concurrency (0: paused). */
function concurrencyCell(l) {
  if (l.concurrency === null) return `${number(l.in_use)} / –`;
  const each = l.template ? " per key" : ""; // a template: in use under all its keys
  return l.concurrency === 0 ? `${number(l.in_use)} / 0 paused` : `${number(l.in_use)} / ${number(l.concurrency)}${each}`;
}
const RANK = { low: 0, normal: 1, high: 2, critical: 3 };
const priority = { key: "priority", label: "Priority", cell: (j) => priorityLabel(j.priority), sort: (j) => -(RANK[j.priority] ?? 0), wide: true };
const attempts = { key: "attempts", label: "Attempts", cell: (j) => `${j.attempts}/${j.max_retries + 1}`, sort: (j) => j.attempts, className: "num", wide: true };

export const TABS = {
  pending: {
    key: (j) => j.id,
    title: "Pending",
    statuses: (vocab) => vocab.notStarted(),
    choose: true, // a status menu picks one of `statuses`
    columns: [
      id, waitingName, priority, attempts,
      { key: "wait", label: "Waiting", cell: (j) => (j.status === "scheduled" && j.scheduled_for ? `due in ${duration(j.scheduled_for - Date.now() / 1000)}` : age(j.created_at)), sort: (j) => -(j.scheduled_for || j.created_at || 0), className: "num" },
    ],
    actions: ["run_now", "cancel"],
    bulk: ["run_now", "cancel"],
  },
  running: {
    key: (j) => j.id,
    title: "Running",
    statuses: () => ["running"],
    columns: [
      id, name,
      { key: "worker", label: "Worker", cell: (j) => oneLine(j.worker, 40), sort: (j) => j.worker, wide: true },
      { key: "elapsed", label: "Elapsed", cell: (j) => age(j.started_at), sort: (j) => since(j.started_at), className: "num", wide: true },
      { key: "progress", label: "Progress", cell: progressCell, sort: (j) => j.progress.fraction },
      { key: "message", label: "Message", cell: (j) => oneLine(j.progress.message, 120), className: "msg", sort: (j) => j.progress.message, wide: true },
    ],
    actions: ["cancel"],
    bulk: ["cancel"],
  },
  dead: {
    key: (j) => j.id,
    title: "Dead letter",
    statuses: () => ["failed"],
    columns: [
      id, name, attempts,
      { key: "failed", label: "Failed", cell: (j) => age(j.finished_at), sort: (j) => since(j.finished_at), className: "num" },
      { key: "error", label: "Last error", cell: errorText, className: "msg", sort: errorText },
    ],
    actions: ["retry", "delete"],
    bulk: ["retry", "delete"],
  },
  workers: {
    title: "Workers",
    statuses: () => [],
    key: (w) => w.id,
    columns: [
      { key: "id", label: "Worker", cell: (w) => oneLine(w.id, 60), sort: (w) => w.id, className: "id" },
      { key: "host", label: "Host", cell: (w) => `${oneLine(w.host, 40)}:${w.pid}`, sort: (w) => w.host, wide: true },
      { key: "queues", label: "Queues", cell: (w, state) => oneLine((state.workerQueues.get(w.id) ?? [w.queue]).join(", "), 80), wide: true },
      { key: "handlers", label: "Handlers", cell: handlersCell, sort: (w) => w.handler_count, className: "msg" },
      { key: "concurrency", label: "Concurrency", cell: (w) => number(w.concurrency), sort: (w) => w.concurrency, className: "num" },
      { key: "busy", label: "Busy", cell: (w) => number(w.running), sort: (w) => w.running, className: "num" },
      { key: "heartbeat", label: "Heartbeat", cell: (w) => `${age(w.last_heartbeat)} ago`, sort: (w) => since(w.last_heartbeat), className: "num" },
      { key: "loop", label: "Event loop", cell: loopCell, sort: (w) => w.loop_blocked?.at ?? 0 },
      { key: "processed", label: "Done", cell: (w) => number(w.processed), sort: (w) => w.processed, className: "num", wide: true },
      { key: "wfailed", label: "Failed", cell: (w) => number(w.failed), sort: (w) => w.failed, className: "num", wide: true },
    ],
    actions: ["scale"],
  },
  history: {
    key: (j) => j.id,
    title: "History",
    statuses: (vocab) => vocab.history(),
    choose: true,
    columns: [
      id, name,
      { key: "finished", label: "Finished", cell: (j) => (j.finished_at ? `${age(j.finished_at)} ago` : ""), sort: (j) => since(j.finished_at), className: "num" },
      { key: "run", label: "Run time", cell: (j) => (j.run_time === null ? "" : duration(j.run_time)), sort: (j) => j.run_time, className: "num", wide: true },
      { key: "result", label: "Result", cell: resultText, className: "msg" },
    ],
    actions: ["delete"],
    bulk: ["delete"],
  },
  schedules: {
    title: "Schedules",
    statuses: () => [],
    key: (s) => s.name,
    columns: [
      { key: "name", label: "Schedule", cell: (s) => oneLine(s.name, 60), sort: (s) => s.name },
      { key: "job", label: "Job", cell: (s) => oneLine(s.job, 60), sort: (s) => s.job },
      { key: "when", label: "When", cell: (s) => oneLine(s.cron ? `${s.cron} (${s.timezone})` : s.every ? `every ${duration(s.every)}` : "", 60) },
      // as `jobdeck schedules list` and the console say it: unserved while no live worker serves its queue
      { key: "state", label: "State", cell: (s) => (s.paused ? "paused" : s.error ? "unreadable" : s.unserved ? "unserved" : "active"), sort: (s) => (s.paused ? 0 : s.unserved ? 1 : 2) },
      { key: "next", label: "Next", cell: (s) => (s.paused ? "paused" : s.next_fire ? `in ${duration(s.next_fire - Date.now() / 1000)}` : ""), sort: (s) => s.next_fire, className: "num" },
      { key: "last", label: "Last", cell: (s) => (s.last_fire ? `${age(s.last_fire)} ago` : "never"), sort: (s) => s.last_fire, className: "num", wide: true },
      { key: "lastJob", label: "Last job", cell: (s) => (s.last_job_id ? jobLink(s.last_job_id) : ""), className: "id", wide: true },
      { key: "lastStatus", label: "Last status", cell: (s) => oneLine(s.error ? `error: ${s.error}` : s.last_status ?? "", 60), className: "msg", wide: true },
    ],
    actions: ["schedule"],
  },
};

// The queue's limits (GET …/limits): a row per key, template or '*'.
TABS.limits = {
  title: "Limits",
  statuses: () => [],
  key: (l) => l.key,
  columns: [
    { key: "key", label: "Key", cell: (l) => oneLine(l.template ? `${l.key} (each key)` : l.key, 80), sort: (l) => l.key, className: "id" },
    { key: "concurrency", label: "Running / concurrency", cell: concurrencyCell, sort: (l) => l.in_use, className: "num" },
    { key: "rate", label: "Rate", cell: (l) => (l.rate === null ? "–" : `${number(l.rate)} per ${duration(l.per)}`), sort: (l) => l.rate, className: "num" },
    { key: "throttled", label: "Throttled", cell: (l) => number(l.throttled), sort: (l) => l.throttled, className: "num" },
  ],
  actions: ["limit"],
};

// The overview of every queue of the prefix (GET …/queues/overview): a row per queue, its
// link switching the page to it. Cells get the state too (the served queue, the statuses).
TABS.queues = {
  title: "Queues",
  statuses: () => [],
  key: (q) => q.name,
  columns: [
    { key: "name", label: "Queue", cell: (q, state) => el("a", { text: oneLine(q.name, 64), attrs: { href: queueHash(q.name, state.session.queue) } }), sort: (q) => q.name, className: "id" },
    { key: "pending", label: "Pending", cell: (q) => number(q.depths.pending ?? 0), sort: (q) => q.depths.pending, className: "num" },
    { key: "later", label: "Not yet due", cell: (q, state) => number(sum(q.depths, state.vocab.notStarted().filter((s) => s !== "pending"))), sort: (q) => q.depths.scheduled, className: "num wide", wide: true },
    { key: "held", label: "Held", cell: heldCell, sort: (q) => q.throttled + q.unserved, className: "num" },
    { key: "running", label: "Running", cell: (q) => number(q.depths.running ?? 0), sort: (q) => q.depths.running, className: "num" },
    { key: "dead", label: "Failed", cell: (q) => number(q.depths.failed ?? 0), sort: (q) => q.depths.failed, className: "num" },
    { key: "done", label: "Completed/s", cell: (q) => rate(q.rates.completed), sort: (q) => q.rates.completed, className: "num" },
    { key: "failedRate", label: "Failed", cell: (q) => rate(q.rates.failed), sort: (q) => q.rates.failed, className: "num wide", wide: true },
    { key: "submitted", label: "In", cell: (q) => rate(q.rates.submitted), sort: (q) => q.rates.submitted, className: "num wide", wide: true },
    { key: "workers", label: "Workers", cell: (q) => (q.workers ? `${number(q.workers)} · ${number(q.running)}/${number(q.concurrency)}` : "none"), sort: (q) => q.workers, className: "num" },
    { key: "paused", label: "State", cell: (q) => (q.paused ? "paused" : "running"), sort: (q) => q.paused, labelled: true },
  ],
  actions: [],
};

export const TAB_ORDER = ["queues", "pending", "running", "dead", "workers", "history", "schedules", "limits"];

/** Sort a page's rows by a column (the server pages; sorting re-orders what is shown). */
export function sortRows(rows, column, direction) {
  if (!column || !column.sort) return rows;
  const sign = direction === "descending" ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = column.sort(a);
    const y = column.sort(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}
