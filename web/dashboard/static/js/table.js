// The list's table: header cells from the tab's columns, rows kept and updated in place.
import { $, el, setText, show } from "./dom.js";
import { number } from "./format.js";
import { PAGE } from "./state.js";
import { TABS, sortRows } from "./columns.js";

export class Table {
  /** `buttons(action, current, key)` makes a row's action buttons (actions.js); `selection`
   * holds the rows checked for an action on many (selection.js). */
  constructor({ state, buttons, selection }) {
    this.state = state;
    this.buttons = buttons;
    this.selection = selection;
  }

  render() {
    const state = this.state;
    const spec = TABS[state.tab];
    const thead = $("thead");
    const selecting = this.selection.active();
    const layout = `${state.tab}|${state.sort.key}:${state.sort.dir}|${selecting}|${state.canOperate}`;
    if (thead.dataset.layout !== layout) {
      thead.dataset.layout = layout;
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
      if (selecting) {
        const all = el("input", { className: "select", attrs: { type: "checkbox", id: "select-page", "aria-label": "Select every job of this page" } });
        all.addEventListener("change", () => this.selection.page(state.rows, all.checked));
        cells.unshift(el("th", { className: "select" }, [all]));
      }
      thead.replaceChildren(...cells);
    }
    const column = spec.columns.find((c) => c.key === state.sort.key);
    const rows = sortRows(state.rows, column, state.sort.dir);
    this.#place(spec, rows);
    show("empty", !rows.length);
    const things = ["workers", "schedules", "limits"].includes(state.tab) ? "" : " jobs";
    setText("empty", state.filter ? "Nothing matches the filter." : `No ${spec.title.toLowerCase()}${things}.`);
    const first = state.total ? state.page * PAGE + 1 : 0;
    setText("page-info", `${number(first)}–${number(state.page * PAGE + state.rows.length)} of ${number(state.total)}`);
    $("prev-btn").disabled = state.page === 0;
    $("next-btn").disabled = (state.page + 1) * PAGE >= state.total;
    show("retry-all-btn", state.canOperate && state.tab === "dead");
    this.selection.render();
  }

  /** Sort by a column's header: ascending, descending, then the server's order again. */
  sortBy(key) {
    const sort = this.state.sort;
    const dir = sort.key !== key ? "ascending" : sort.dir === "ascending" ? "descending" : null;
    this.state.sort = { key: dir ? key : null, dir };
    this.render();
  }

  /** Rows are kept and updated in place (keyed by id), so a button under the pointer is
   * never swapped for a copy between press and release, and a redraw touches only what
   * changed. */
  #place(spec, rows) {
    const tbody = $("tbody");
    const existing = new Map();
    for (const tr of tbody.children) existing.set(tr.dataset.id, tr);
    const wanted = rows.map((row) => {
      const key = String(spec.key(row));
      let tr = existing.get(key);
      if (!tr || tr.dataset.layout !== this.#rowLayout()) tr = this.#create(spec, key, row);
      this.#update(spec, tr, row);
      return tr;
    });
    wanted.forEach((tr, index) => {
      if (tbody.children[index] !== tr) tbody.insertBefore(tr, tbody.children[index] || null);
    });
    while (tbody.children.length > wanted.length) tbody.lastElementChild.remove();
  }

  #rowLayout() {
    return `${this.state.tab}|${this.state.canOperate}|${this.selection.active()}`;
  }

  #create(spec, key, row) {
    const state = this.state;
    const tr = el("tr", { attrs: { "data-id": key, "data-layout": this.#rowLayout() } });
    tr.row = row;
    if (this.selection.active()) {
      const box = el("input", { className: "select", attrs: { type: "checkbox", "aria-label": `Select ${key}` } });
      box.addEventListener("change", () => this.selection.toggle(tr.row, box.checked));
      tr.append(el("td", { className: "select" }, [box]));
    }
    for (const col of spec.columns) {
      const td = el("td", { className: [col.className || "", col.wide ? "wide" : ""].join(" ").trim() });
      // Figures carry their column's name: at phone width the header row is not shown.
      if ((col.className || "").includes("num") || col.labelled) td.dataset.label = col.label;
      tr.append(td);
    }
    if (state.canOperate && spec.actions.length) {
      const td = el("td", { className: "actions" });
      for (const action of spec.actions) td.append(...this.buttons(action, () => tr.row, key));
      tr.append(td);
    }
    return tr;
  }

  #update(spec, tr, row) {
    tr.row = row;
    if (this.selection.active()) this.selection.seen(row);
    const toggle = tr.querySelector('button[data-action="toggle"]');
    if (toggle) setText(toggle, row.paused ? "Resume" : "Pause");
    for (const button of tr.querySelectorAll("button[data-action]")) {
      if (button.fits) button.hidden = !button.fits(row);
    }
    const first = this.selection.active() ? 1 : 0;
    spec.columns.forEach((col, index) => {
      const td = tr.children[index + first];
      const value = col.cell(row, this.state);
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
}
