// Rows selected for one action on many (job tabs): a checkbox per row and one for the page;
// the bar above the table names how many are selected and offers the tab's actions on them,
// each asking once with the count it fits. The selection keeps each job as last shown.
import { $, el, setText, show } from "./dom.js";
import { number } from "./format.js";
import { JOB_ACTIONS } from "./actions.js";
import { TABS } from "./columns.js";

export class Selection {
  constructor({ state, actions }) {
    this.state = state;
    this.actions = actions;
    this.jobs = new Map(); // id -> the job as last shown
  }

  /** Whether the tab on screen has checkboxes (an operator on a job tab). */
  active() {
    return this.state.canOperate && Boolean(TABS[this.state.tab].bulk);
  }

  has(id) { return this.jobs.has(id); }

  toggle(job, on) {
    if (on) this.jobs.set(job.id, job);
    else this.jobs.delete(job.id);
    this.render();
  }

  /** Every row of the page on (or off). */
  page(rows, on) {
    for (const job of rows) {
      if (on) this.jobs.set(job.id, job);
      else this.jobs.delete(job.id);
    }
    this.render();
  }

  /** A job shown again: the selection keeps its latest state. */
  seen(job) {
    if (this.jobs.has(job.id)) this.jobs.set(job.id, job);
  }

  forget(ids) {
    for (const id of ids) this.jobs.delete(id);
    this.render();
  }

  clear() {
    this.jobs.clear();
    this.render();
  }

  render() {
    const count = this.jobs.size;
    show("bulk", this.active() && count > 0);
    setText("bulk-count", `${number(count)} selected`);
    const actions = TABS[this.state.tab].bulk || [];
    const box = $("bulk-actions");
    if (box.dataset.tab !== this.state.tab) {
      box.dataset.tab = this.state.tab;
      box.replaceChildren(...actions.map((action) => {
        const spec = JOB_ACTIONS[action];
        return el("button", {
          text: `${spec.label}…`,
          className: `op ${spec.danger ? "danger" : ""}`.trim(),
          attrs: { type: "button", "data-bulk": action },
          on: { click: () => this.#run(action) },
        });
      }));
    }
    for (const checkbox of document.querySelectorAll("#tbody input.select")) {
      checkbox.checked = this.jobs.has(checkbox.closest("tr").dataset.id);
    }
    const all = $("select-page");
    if (all) {
      const ids = this.state.rows.map((row) => row.id);
      const on = ids.filter((id) => this.jobs.has(id)).length;
      all.checked = on > 0 && on === ids.length;
      all.indeterminate = on > 0 && on < ids.length;
    }
  }

  async #run(action) {
    const done = await this.actions.onMany(action, [...this.jobs.values()]);
    this.forget(done);
  }
}
