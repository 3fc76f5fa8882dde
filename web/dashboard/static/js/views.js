// The list under the tabs: one page of rows read from the server (jobs of the tab's status,
// workers, schedules), with the filter and paging.
import { $, el, show } from "./dom.js";
import { oneLine } from "./format.js";
import { PAGE } from "./state.js";
import { TABS } from "./columns.js";

export class ListView {
  constructor({ api, state, table }) {
    this.api = api;
    this.state = state;
    this.table = table;
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
    const offset = state.page * PAGE;
    let rows;
    let total;
    if (tab === "workers") {
      const all = (await this.api.workers()).workers;
      const f = state.filter.toLowerCase();
      const hits = f ? all.filter((w) => `${w.id} ${w.host}`.toLowerCase().includes(f)) : all;
      rows = hits.slice(offset, offset + PAGE);
      total = hits.length;
    } else if (tab === "schedules") {
      const all = (await this.api.schedules()).schedules;
      const f = state.filter.toLowerCase();
      const hits = f ? all.filter((s) => `${s.name} ${s.job}`.toLowerCase().includes(f)) : all;
      rows = hits.slice(offset, offset + PAGE);
      total = hits.length;
    } else {
      const reply = await this.api.jobs({ status: this.status(), name: state.filter, limit: PAGE, offset });
      rows = reply.jobs;
      total = reply.total;
    }
    if (tab !== state.tab || state.jobId) return; // the operator moved on meanwhile
    state.rows = rows;
    state.total = total;
    this.table.render();
    if (state.filter && !rows.length && TABS[tab].statuses(state.vocab).length) this.#offerJob(state.filter);
  }

  async #offerJob(text) {
    try {
      const job = await this.api.job(text.trim());
      const notice = $("notice");
      notice.replaceChildren(
        document.createTextNode("No name matches; there is a job with this id: "),
        el("a", { text: `${oneLine(job.name, 60)} (${job.status})`, attrs: { href: `#job/${encodeURIComponent(job.id)}` } }),
      );
      show(notice, true);
    } catch {
      /* no such id either */
    }
  }
}
