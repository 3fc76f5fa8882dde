// The keyboard: 0 every queue, 1-7 tabs, / search, Esc back out, [ ] pages, ? help.
import { $ } from "./dom.js";
import { TAB_ORDER } from "./columns.js";
import { tabHash } from "./place.js";

export function keyHandler({ state, clearFilter, page }) {
  return (event) => {
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement;
    if ($("confirm").open || $("help").open || !state.session || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (target === $("filter")) {
        clearFilter();
        target.blur();
      } else if (state.jobId) {
        history.back();
      }
      return;
    }
    if (typing) return;
    const index = "01234567".indexOf(event.key);
    if (index >= 0 && event.key.length === 1) {
      const tab = TAB_ORDER[index];
      if (tab === "queues") location.hash = "#queues";
      else if (tab !== "schedules" || state.schedules) location.hash = tabHash(tab);
    } else if (event.key === "/") {
      event.preventDefault();
      if (state.jobId) location.hash = tabHash(state.tab);
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
  };
}
