// The address's hash says what is on screen (place.js): a tab or a job's page, of the served
// queue or of another queue of the prefix, or the overview of every queue.
import { $, el, show } from "./dom.js";
import { TABS } from "./columns.js";
import { parse, tabHash } from "./place.js";

export class Router {
  /** `showQueue(name)` moves the whole page to another queue (main.js). */
  constructor({ state, table, view, jobPage, selection, showQueue }) {
    this.state = state;
    this.table = table;
    this.view = view;
    this.jobPage = jobPage;
    this.selection = selection;
    this.showQueue = showQueue;
  }

  route() {
    const state = this.state;
    if (!state.session) return;
    const place = parse(location.hash) ?? { queue: null, tab: "", jobId: null };
    if (place.tab !== "queues") this.showQueue(place.queue ?? state.session.queue);
    if (place.jobId !== null) {
      this.jobPage.open(place.jobId);
      show("main", false);
      show("job", true);
      this.view.request();
      return;
    }
    state.jobId = null;
    show("job", false);
    show("main", true);
    const wanted = place.tab;
    const tab = TABS[wanted] && (wanted !== "schedules" || state.schedules) ? wanted : "pending";
    if (tab !== state.tab) {
      this.selection.clear();
      state.tab = tab;
      state.page = 0;
      state.sort = { key: null, dir: null };
      state.rows = [];
      state.total = 0;
    }
    for (const link of document.querySelectorAll(".tabs a")) {
      link.setAttribute("aria-selected", String(link.dataset.tab === tab));
      link.setAttribute("href", link.dataset.tab === "queues" ? "#queues" : tabHash(link.dataset.tab));
    }
    const menu = $("substatus");
    const spec = TABS[tab];
    show(menu, Boolean(spec.choose));
    if (spec.choose) {
      const statuses = spec.statuses(state.vocab);
      menu.replaceChildren(...statuses.map((s) => el("option", { text: s, attrs: { value: s } })));
      menu.value = statuses.includes(state.sub[tab]) ? state.sub[tab] : statuses[0];
    }
    show("notice", false);
    show("by-name-box", tab === "history");
    this.table.render();
    this.view.request();
  }

  /** The tab to go back to from a job page. */
  leaveJob() {
    location.hash = tabHash(this.state.tab);
  }
}
