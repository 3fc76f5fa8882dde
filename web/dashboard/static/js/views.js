// The list under the tabs: one page of rows read from the server (jobs of the tab's status,
// schedules, limits) or pushed by it (workers, queues: the summaries on the event stream). On a job tab the filter is the server's search (search.js) over
// every status of the tab; on Workers, Schedules and Limits it filters what the server listed.
import { $, el, setText, show } from "./dom.js";
import { number, oneLine } from "./format.js";
import { jobHash } from "./place.js";
import { JobSearch } from "./search.js";
import { PAGE } from "./state.js";
import { TABS } from "./columns.js";

export class ListView {
  /** `again()` asks for another round (a search that has more to read). */
  constructor({ api, state, table, again }) {
    this.api = api;
    this.state = state;
    this.table = table;
    this.again = again;
    this.search = new JobSearch({ api });
  }

  /** Another queue is shown: its search starts afresh. */
  reset() {
    this.search = new JobSearch({ api: this.api });
  }

  /** The status the tab lists now: the one its menu picked, or its only one. */
  status() {
    const state = this.state;
    const statuses = TABS[state.tab].statuses(state.vocab);
    return statuses.includes(state.sub[state.tab]) ? state.sub[state.tab] : statuses[0];
  }

  async load() {
    const state = this.state;
    const tab = state.tab;
    const filter = state.filter;
    const offset = state.page * PAGE;
    let rows;
    let total;
    let note = "";
    if (tab === "workers" || tab === "schedules" || tab === "queues" || tab === "limits") {
      const all = await this.#listed(tab);
      const f = filter.toLowerCase();
      const text = { workers: (w) => `${w.id} ${w.host} ${w.handlers.join(" ")}`, schedules: (s) => `${s.name} ${s.job}`, queues: (q) => q.name, limits: (l) => l.key }[tab];
      const hits = f ? all.filter((row) => text(row).toLowerCase().includes(f)) : all;
      rows = hits.slice(offset, offset + PAGE);
      total = hits.length;
    } else if (filter) {
      const found = await this.search.step(filter, TABS[tab].statuses(state.vocab));
      if (found === null) return;
      rows = found.rows.slice(offset, offset + PAGE);
      total = found.rows.length;
      note = `${number(found.scanned)} searched${found.done ? "" : "…"}`;
      if (!found.done) this.again();
      else if (!total) this.#offerJob(filter);
    } else {
      const reply = await this.api.jobs({ status: this.status(), limit: PAGE, offset });
      rows = reply.jobs;
      total = reply.total;
    }
    if (tab !== state.tab || filter !== state.filter || state.jobId) return; // moved on meanwhile
    state.rows = rows;
    state.total = total;
    this.table.render();
    if (tab !== "queues") setText("search-info", note);
    // A search covers every status of the tab: its status menu would say otherwise.
    show("substatus", Boolean(TABS[tab].choose) && !filter);
  }

  async #listed(tab) {
    const state = this.state;
    if (tab === "workers") {
      // The server's summaries, pushed on the event stream when they change (main.js); read
      // here only before the first came. A worker serving several queues has a pool (the
      // same id) on each: the overview says which queues each id is on.
      state.overview ??= await this.api.queuesOverview();
      const workers = state.workers ?? (await this.api.workers()).workers;
      const queues = new Map();
      for (const queue of state.overview.queues) {
        for (const id of queue.worker_ids) queues.set(id, [...(queues.get(id) ?? []), queue.name]);
      }
      state.workerQueues = queues;
      return workers;
    }
    if (tab === "schedules") return (await this.api.schedules()).schedules;
    if (tab === "limits") return (await this.api.limits()).limits;
    state.overview ??= await this.api.queuesOverview();
    const reply = state.overview;
    setText("search-info", reply.omitted ? `${number(reply.omitted)} more queues not shown` : "");
    return reply.queues;
  }

  /** Nothing on this tab matches: a job whose id is the text, wherever it is, is offered. */
  async #offerJob(text) {
    const job = await this.search.exactId(text);
    if (!job || text !== this.state.filter) return;
    const notice = $("notice");
    notice.replaceChildren(
      document.createTextNode("Nothing here matches; there is a job with this id: "),
      el("a", { text: `${oneLine(job.name, 60)} (${job.status})`, attrs: { href: jobHash(job.id) } }),
    );
    show(notice, true);
  }
}
