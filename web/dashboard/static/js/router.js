// The location's hash says what is on screen: `#pending` (or another tab) or `#job/<id>`.
import { $, el, show } from "./dom.js";
import { TABS } from "./columns.js";

export class Router {
  constructor({ state, table, view, jobPage, selection }) {
    this.selection = selection;
    this.state = state;
    this.table = table;
    this.view = view;
    this.jobPage = jobPage;
  }

  route() {
    const state = this.state;
    if (!state.session) return;
    let hash;
    try {
      hash = decodeURIComponent(location.hash.slice(1));
    } catch {
      hash = ""; // a malformed escape: the default tab
    }
    if (hash.startsWith("job/")) {
      this.jobPage.open(hash.slice(4));
      show("main", false);
      show("job", true);
      this.view.request();
      return;
    }
    state.jobId = null;
    show("job", false);
    show("main", true);
    const tab = TABS[hash] && (hash !== "schedules" || state.schedules) ? hash : "pending";
    if (tab !== state.tab) {
      this.selection.clear();
      state.tab = tab;
      state.page = 0;
      state.sort = { key: null, dir: null };
      state.rows = [];
      state.total = 0;
    }
    for (const link of document.querySelectorAll(".tabs a")) link.setAttribute("aria-selected", String(link.dataset.tab === tab));
    const menu = $("substatus");
    const spec = TABS[tab];
    show(menu, Boolean(spec.choose));
    if (spec.choose) {
      const statuses = spec.statuses(state.vocab);
      menu.replaceChildren(...statuses.map((s) => el("option", { text: s, attrs: { value: s } })));
      menu.value = statuses.includes(state.sub[tab]) ? state.sub[tab] : statuses[0];
    }
    show("notice", false);
    this.table.render();
    this.view.request();
  }

  /** The tab to go back to from a job page. */
  leaveJob() {
    location.hash = this.state.tab;
  }
}
